"""The contract-review prompt: consumer Terms of Service, reviewed for unfair clauses. The message shape (the
same system message for every item, the item in the last user turn) is tasks/comment_review/prompt.py.
Standard library only."""

from __future__ import annotations

from tasks.comment_review.prompt import DOC_BEGIN, DOC_END, USER_TEMPLATE, ReviewPrompt

__all__ = ["COMPACT_PROMPT", "DOC_BEGIN", "DOC_END", "PROMPT", "PROMPTS", "SYSTEM_TEMPLATE", "USER_TEMPLATE"]

SYSTEM_TEMPLATE = """You review consumer Terms of Service for clauses that may be unfair to the consumer. \
Each user message holds a TargetDocument (a few consecutive sentences of a Terms of Service, one per line) \
between a line {begin} and a line {end}.

Follow the Reference (the review playbook) below. For every clause of the TargetDocument that falls in one of \
its risk categories and is potentially or clearly unfair, write one comment with:
- text_excerpt: the risky clause quoted word for word from the TargetDocument (never from the Reference), \
at most {max_excerpt} characters;
- risk: the category id from the Reference;
- assessment: potentially_unfair or clearly_unfair, as the Reference defines them;
- action: one of the actions the Reference allows for that category and assessment;
- rationale: one or two sentences saying why, grounded in the Reference, at most {max_rationale} characters.
Clauses that are fair, or outside the risk categories, get no comment. If nothing in the TargetDocument is \
risky, answer with an empty list: {{"comments": []}}. At most {max_comments} comments.

Answer with JSON only, matching this schema:
{schema}

=== REFERENCE ===
{reference}=== END OF REFERENCE ==="""

PROMPT = ReviewPrompt(SYSTEM_TEMPLATE, USER_TEMPLATE)

# The compact prompt (task config `prompt: compact`): the same instructions in a few lines and the playbook as
# one line per category (Playbook.render_compact_reference), about 550 tokens instead of about 2,700. It exists
# for models that are fine-tuned on the task (rft-evals train, docs/training.md): they learn the playbook from
# their training data, and a prompt 5x shorter makes every training step and every evaluation that much cheaper.
COMPACT_SYSTEM_TEMPLATE = """Review the Terms of Service excerpt between {begin} and {end} for clauses unfair \
to the consumer. For each risky clause write one comment: text_excerpt (quoted word for word from the excerpt, \
at most {max_excerpt} characters), risk (a category id below), assessment (potentially_unfair or clearly_unfair), \
action (one allowed for that category and assessment), rationale (one sentence, at most {max_rationale} \
characters). Answer with JSON only: {{"comments": [...]}}, at most {max_comments} comments; \
{{"comments": []}} when nothing is risky.

{reference}"""

COMPACT_PROMPT = ReviewPrompt(COMPACT_SYSTEM_TEMPLATE, USER_TEMPLATE)
PROMPTS = {"full": PROMPT, "compact": COMPACT_PROMPT}
