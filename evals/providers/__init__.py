"""Candidate model providers. Each module registers one provider kind; see registry.py."""
