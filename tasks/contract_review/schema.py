"""The answer's JSON schema: the comment schema every comment-review task shares (tasks/comment_review/schema.py).
Standard library only."""

from __future__ import annotations

from tasks.comment_review.schema import output_schema

__all__ = ["output_schema"]
