"""One evaluation run: the `rft-evals run` command, the runner, its resources, its outputs on disk, resume and sync."""
