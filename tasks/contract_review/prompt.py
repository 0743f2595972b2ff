"""The contract-review prompt: consumer Terms of Service, reviewed for unfair clauses. The message shape (the
same system message for every item, the item in the last user turn) is tasks/comment_review/prompt.py.
Standard library only."""

from __future__ import annotations

from tasks.comment_review.prompt import DOC_BEGIN, DOC_END, USER_TEMPLATE, ReviewPrompt

__all__ = ["DOC_BEGIN", "DOC_END", "PROMPT", "SYSTEM_TEMPLATE", "USER_TEMPLATE"]

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
