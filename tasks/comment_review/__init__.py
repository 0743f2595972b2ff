"""What the comment-review tasks (contract_review, cuad_risks) share: they answer with the same comment schema
(text_excerpt, risk, assessment, action, rationale) against a playbook, so the playbook core, the prompt
shape, the window and the task methods that do not depend on the data live here once."""
