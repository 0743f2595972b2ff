"""Contract review on CLAUDETTE Terms of Service: read a window of sentences, comment on the unfair clauses
against the project's playbook. Submodules are imported where they are used (schema/playbook/prompt stay
stdlib-only for the reward Lambda; task.py pulls in `datasets`)."""
