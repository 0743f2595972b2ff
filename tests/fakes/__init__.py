"""Loopback fakes of remote services, for tests and benchmarks (no network, no credentials)."""
