"""Steering probes for judge evaluation (data files; a package so installs carry them)."""
