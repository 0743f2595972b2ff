"""The Hydra configs, installed as the package `rft_evals_conf` (see setup.py and evals/conf.py)."""
