"""The nightly suite: its config, executor, analysis, gate, comparison with the previous night, judge evaluation."""
