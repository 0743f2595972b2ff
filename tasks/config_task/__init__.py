"""Tasks declared in YAML alone (kind `config`): a data file, a field mapping, prompt templates, an output
schema and metrics chosen by name. `spec` reads and checks the YAML, `rows` reads the data, `metrics` scores
(standard library only), `task` ties them together. Worked example: docs/config_tasks.md."""
