"""Scoring an answer that checks a document against a policy's rules (the NDA-policy task): the spec the
task builds (spec.py), the sample's reference (reference.py) and the scorer (scoring.py). Standard library
only, so the reward Lambda scores it from the bundle alone."""
