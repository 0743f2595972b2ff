"""One scored sample: the record a run writes per (item, candidate) and the per-sample scores read from it."""
