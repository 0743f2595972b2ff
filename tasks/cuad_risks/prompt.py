"""The commercial-contract prompt: CUAD contracts, reviewed for the playbook's risk categories. The message
shape is contract_review's (tasks/comment_review/prompt.py): the same system message for every item, the item
in the last user turn between delimiter lines. Standard library only."""

from __future__ import annotations

from tasks.comment_review.prompt import DOC_BEGIN, DOC_END, USER_TEMPLATE, ReviewPrompt

__all__ = ["DOC_BEGIN", "DOC_END", "PROMPT", "SYSTEM_TEMPLATE", "USER_TEMPLATE"]

SYSTEM_TEMPLATE = """You review commercial contracts for clauses that carry legal or business risk. Each user \
message holds a TargetDocument (consecutive sentences of one contract, one per line; the text comes from a PDF, \
so spacing and numbering may be untidy) between a line {begin} and a line {end}.

Follow the Reference (the review playbook) below. For every clause of the TargetDocument that falls in one of \
its risk categories, write one comment with:
- text_excerpt: the clause quoted word for word from the TargetDocument (never from the Reference), at most \
{max_excerpt} characters;
- risk: the category id from the Reference;
- assessment: the assessment the Reference gives that category;
- action: one of the actions the Reference allows;
- rationale: one or two sentences saying why, grounded in the Reference, at most {max_rationale} characters.
A clause in two categories gets two comments. Sentences outside the categories get no comment. If nothing in \
the TargetDocument falls in a category, answer with an empty list: {{"comments": []}}. At most {max_comments} \
comments.

Answer with JSON only, matching this schema:
{schema}

=== REFERENCE ===
{reference}=== END OF REFERENCE ==="""

PROMPT = ReviewPrompt(SYSTEM_TEMPLATE, USER_TEMPLATE)
