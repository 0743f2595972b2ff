"""What every Bedrock caller shares, light enough for the reward Lambda (standard library; boto3 is only
ever the caller's): the one error table (errors.py) and the one Converse request builder and reply reader
(converse.py). The engine's provider, its client worker processes, batch inference, the replay of batch
outputs and the reward judge all classify and build through these, so a code retried in one is retried in
all. The retry policy itself is metrics/backoff.py (not Bedrock-specific)."""

from metrics.bedrock.converse import ConverseInputError, MalformedReply, converse_request, read_reply
from metrics.bedrock.errors import ErrorRule, classify_code, classify_exception, kind_for_stage

__all__ = ["ConverseInputError", "ErrorRule", "MalformedReply", "classify_code", "classify_exception",
           "converse_request", "kind_for_stage", "read_reply"]
