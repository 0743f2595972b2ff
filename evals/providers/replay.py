"""Outputs produced elsewhere, replayed as a candidate: plain JSONL (`{"id", "output"}`) or Bedrock
batch-inference output (`*.jsonl.out`: `{"recordId", "modelInput", "modelOutput" | "error"}`).

Everything is read and checked at build time, so a bad file fails the run before any scoring starts."""

from __future__ import annotations

import glob
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.providers.base import Generation, GenerationRequest, ProviderError, Usage
from metrics.bedrock.errors import classify_code
from metrics.errors import ErrorKind


class ReplayFormatError(ValueError):
    """A replay file that cannot be read as outputs; the message names the file and line."""


@dataclass(frozen=True)
class ReplayRecord:
    where: str  # "file:line", for messages
    generation: Generation | None = None
    error: tuple[ErrorKind, str, str] | None = None  # kind, message, code: a fresh ProviderError per call


# --- model output shapes inside a batch record -------------------------------------------------------------

OPENAI_FINISH = {"length": "max_tokens", "stop": "end_turn", "content_filter": "content_filtered"}


def _converse_output(output: Mapping[str, Any]) -> tuple[str, str, Usage]:
    """Converse / Nova InvokeModel shape. Reasoning blocks (GPT OSS) come before the answer: skip them."""
    blocks = output["output"]["message"]["content"]
    texts = [block["text"] for block in blocks if isinstance(block, Mapping) and "text" in block]
    usage = output.get("usage") or {}
    return ("".join(texts), str(output.get("stopReason") or "end_turn"),
            Usage(int(usage.get("inputTokens", 0)), int(usage.get("outputTokens", 0))))


def _chat_completion_output(output: Mapping[str, Any]) -> tuple[str, str, Usage]:
    """OpenAI chat-completion shape (GPT OSS through InvokeModel)."""
    choice = output["choices"][0]
    finish = str(choice.get("finish_reason") or "stop")
    usage = output.get("usage") or {}
    return (choice["message"].get("content") or "", OPENAI_FINISH.get(finish, finish),
            Usage(int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))))


# key that identifies the shape -> reader
MODEL_OUTPUT_SHAPES: dict[str, Callable[[Mapping[str, Any]], tuple[str, str, Usage]]] = {
    "output": _converse_output,
    "choices": _chat_completion_output,
}


# --- batch error codes ---------------------------------------------------------------------------------------

def _error_kind(code: str) -> ErrorKind:
    """The kind of a batch record's errorCode (a name or an HTTP status), as the one Bedrock table says."""
    return classify_code(code).kind


# --- line readers ------------------------------------------------------------------------------------------

def _plain_record(data: Mapping[str, Any], where: str, model_id: str) -> tuple[str, ReplayRecord]:
    output = data["output"]
    # A JSON answer may have been stored as an object: the scorer wants the text the model would have written.
    text = output if isinstance(output, str) else json.dumps(output, ensure_ascii=False)
    usage = data.get("usage") or {}
    generation = Generation(text=text, stop_reason=str(data.get("stop_reason") or "end_turn"),
                            usage=Usage(int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0))),
                            model_id=model_id)
    return str(data["id"]), ReplayRecord(where, generation=generation)


def _batch_record(data: Mapping[str, Any], where: str, model_id: str) -> tuple[str, ReplayRecord]:
    record_id = str(data["recordId"])
    if data.get("error"):
        error = data["error"]
        code = str(error.get("errorCode", "unknown")) if isinstance(error, Mapping) else "unknown"
        message = error.get("errorMessage", "") if isinstance(error, Mapping) else str(error)
        failure = (_error_kind(code), f"batch record {record_id} ({where}) failed: {code}: {message}", code)
        return record_id, ReplayRecord(where, error=failure)
    output = data["modelOutput"]
    shape = next((key for key in MODEL_OUTPUT_SHAPES if key in output), None)
    if shape is None:
        raise KeyError(f"modelOutput has none of the known shapes {sorted(MODEL_OUTPUT_SHAPES)}")
    text, stop_reason, usage = MODEL_OUTPUT_SHAPES[shape](output)
    return record_id, ReplayRecord(where, generation=Generation(text=text, stop_reason=stop_reason, usage=usage,
                                                               model_id=model_id))


def _read_line(data: Any, where: str, model_id: str) -> tuple[str, ReplayRecord]:
    if not isinstance(data, Mapping):
        raise ReplayFormatError(f"{where}: expected a JSON object, got {type(data).__name__}")
    if "recordId" in data:
        reader = _batch_record
    elif "id" in data and "output" in data:
        reader = _plain_record
    else:
        raise ReplayFormatError(f"{where}: neither {{\"id\", \"output\"}} nor a Bedrock batch record "
                                f"{{\"recordId\", \"modelOutput\" | \"error\"}}; keys: {sorted(data)[:8]}")
    try:
        return reader(data, where, model_id)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        raise ReplayFormatError(f"{where}: malformed record ({type(exc).__name__}: {exc})") from exc


# --- files ---------------------------------------------------------------------------------------------------

def resolve_files(spec: str) -> list[Path]:
    """A file, a glob, or a directory (its *.jsonl.out batch outputs, else its *.jsonl files)."""
    path = Path(spec).expanduser()
    if path.is_dir():
        files = sorted(path.glob("*.jsonl.out")) or sorted(path.glob("*.jsonl"))
    elif path.is_file():
        files = [path]
    else:
        files = [Path(match) for match in sorted(glob.glob(str(path))) if Path(match).is_file()]
    if not files:
        raise ReplayFormatError(f"replay path {spec!r} matches no output file (expected a .jsonl/.jsonl.out "
                                f"file, a glob, or a directory of *.jsonl.out)")
    return files


def load_records(files: list[Path], model_id: str = "") -> tuple[dict[str, ReplayRecord], str]:
    """All records by id, and a sha256 over the files' bytes (the replay's identity)."""
    records: dict[str, ReplayRecord] = {}
    digest = hashlib.sha256()
    for file in files:
        raw = file.read_bytes()
        digest.update(file.name.encode() + b"\0" + raw)
        for number, line in enumerate(raw.decode("utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{file}:{number}"
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ReplayFormatError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from exc
            item_id, record = _read_line(data, where, model_id)
            if item_id in records:
                raise ReplayFormatError(f"duplicate id {item_id!r}: {records[item_id].where} and {where}")
            records[item_id] = record
    return records, digest.hexdigest()


class ReplayProvider:
    def __init__(self, name: str, path: str, *, model_id: str | None = None, max_concurrency: int = 8):
        self.name = name
        self.path = path
        self.files = resolve_files(path)
        self.model_id = model_id or f"replay:{Path(path).name}"
        self.max_concurrency = max_concurrency
        self.records, self.sha256 = load_records(self.files, self.model_id)

    def identity(self) -> Mapping[str, Any]:
        return {"provider": "replay", "model_id": self.model_id, "sha256": self.sha256,
                "files": [file.name for file in self.files], "records": len(self.records)}

    def generate(self, request: GenerationRequest) -> Generation:
        record = self.records.get(str(request.item_id))
        if record is None:
            raise ProviderError(ErrorKind.INPUT, f"no output for id {request.item_id} in {self.path}",
                                code="missing_output")
        if record.error is not None:
            kind, message, code = record.error
            raise ProviderError(kind, message, code=code)
        assert record.generation is not None
        return record.generation


def build(config: Mapping[str, Any], context: Any) -> ReplayProvider:
    path = config.get("path")
    if not path:
        source = config.get("_source", "conf/model/replay.yaml")
        raise ReplayFormatError(f"{source}: `path` is not set; point it at the outputs to replay, e.g. "
                                f"`model.path=runs/nova/batch-out/` (a .jsonl file, a glob, or a directory "
                                f"of Bedrock *.jsonl.out files)")
    return ReplayProvider(name=str(config.get("name") or "replay"), path=str(path),
                          model_id=config.get("model_id"),
                          max_concurrency=int(config.get("max_concurrency") or 8))
