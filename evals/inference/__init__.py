"""Calling models at scale: the engine (concurrency, retries, deadlines, rate limits), the generation cache and
token usage."""
