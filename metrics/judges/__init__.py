"""LLM-as-a-judge, sans I/O: judges build requests (chat messages + a verdict JSON schema) and parse replies
into typed verdicts; whoever holds a model client performs the calls (evals/judging/judge.py through the Engine, or
metrics/judges/runner.py with any `call(request) -> text` function, e.g. boto3 inside the reward Lambda).
Standard library only."""
