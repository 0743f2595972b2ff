"""Reinforcement fine-tuning artefacts: exporting training data."""
