"""The `rft-evals` command line: the dispatcher and its sub-commands (data, batch, reward)."""
