"""Bedrock batch inference for candidate generation at scale: write a task's requests as a batch input JSONL,
submit a `CreateModelInvocationJob`, poll it to a terminal status, download the `.jsonl.out` files and join
them back to the task's items by `recordId`.

The joined file is a Bedrock batch output whose `recordId`s are the item ids, so the replay provider
(evals/providers/replay.py) scores it through the normal run path. Every input record ends in it: with its
`modelOutput`, with Bedrock's `error`, or with an error this module records (`MissingOutput`: no line for the
record; `MalformedOutput`: a line the replay reader cannot use), which the replay provider turns into a
classified error on the sample. Nothing here talks to AWS except through the clients passed in (boto3
`bedrock` control plane and `s3`), so the tests drive it with botocore's Stubber.

Layout of a batch folder:
    batch.json                 the job manifest (BatchJob): candidate, model, record ids -> item ids, S3, status
    input/<name>-NNNNN.jsonl   {"recordId", "modelInput"} lines, at most `max_records_per_file` each
    output/                    the downloaded *.jsonl.out files and manifest.json.out
    collected/<name>.jsonl.out the join: one line per input record, recordId = item id
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evals.providers.base import GenerationRequest, ProviderError
from evals.providers.bedrock.client import BedrockProvider, settings_from_config
from evals.providers.replay import ReplayFormatError
from evals.providers.replay import _read_line as read_replay_line

MANIFEST = "batch.json"
INPUT_DIR, OUTPUT_DIR, COLLECTED_DIR = "input", "output", "collected"
MAX_RECORDS_PER_FILE = 50_000  # Bedrock's documented ceilings per input file
MAX_FILE_BYTES = 1 << 30
MIN_RECORDS_PER_JOB = 100  # Bedrock rejects smaller jobs; we warn, the job's owner may have another quota
RUNNING = ("Submitted", "Validating", "Scheduled", "InProgress", "Stopping")
SUCCEEDED = ("Completed", "PartiallyCompleted")
TERMINAL = (*SUCCEEDED, "Failed", "Stopped", "Expired")
RETRYABLE_POLL_ERRORS = ("ThrottlingException", "ServiceUnavailableException", "InternalServerException")
MISSING, MALFORMED = "MissingOutput", "MalformedOutput"
INVALID_INPUT = "ValidationException"  # the replay provider classifies it as a validation error
_JOB_NAME = re.compile(r"[^a-zA-Z0-9-]+")


class BatchError(ValueError):
    """A batch step cannot go on; the message names the folder, file or field and the fix."""


class BatchTimeoutError(BatchError):
    """The job was still running when the polling deadline passed."""


def record_id(index: int) -> str:
    """Bedrock documents recordId as an alphanumeric string: item ids (`doc:start`) are kept in the manifest."""
    return f"R{index:010d}"


# --- modelInput bodies, built from the Converse request the online provider would send ------------------------


def _converse_body(converse: Mapping[str, Any]) -> dict[str, Any]:
    """The Converse request body (modelInvocationType Converse): the request without modelId."""
    return {key: value for key, value in converse.items() if key != "modelId"}


def _nova_body(converse: Mapping[str, Any]) -> dict[str, Any]:
    """Nova's native InvokeModel body: the Converse fields, with the extra request fields at the top level."""
    body = {key: converse[key] for key in ("system", "messages", "inferenceConfig") if key in converse}
    for key, value in (converse.get("additionalModelRequestFields") or {}).items():
        if key == "inferenceConfig" and isinstance(value, Mapping):
            body["inferenceConfig"] = {**body.get("inferenceConfig", {}), **value}
        else:
            body[key] = value
    return body


def _text(blocks: Iterable[Mapping[str, Any]]) -> str:
    return "".join(str(block.get("text", "")) for block in blocks)


def _chat_completion_body(converse: Mapping[str, Any]) -> dict[str, Any]:
    """The OpenAI chat-completion InvokeModel body (GPT OSS)."""
    messages = [{"role": "system", "content": _text(converse.get("system", []))}] if converse.get("system") else []
    messages += [{"role": m["role"], "content": _text(m["content"])} for m in converse["messages"]]
    inference = converse.get("inferenceConfig", {})
    body: dict[str, Any] = {"messages": messages, "max_completion_tokens": inference.get("maxTokens")}
    for ours, theirs in (("temperature", "temperature"), ("topP", "top_p"), ("stopSequences", "stop")):
        if ours in inference:
            body[theirs] = inference[ours]
    body.update(converse.get("additionalModelRequestFields") or {})
    return body


@dataclass(frozen=True)
class BodyFormat:
    build: Callable[[Mapping[str, Any]], dict[str, Any]]
    invocation_type: str  # CreateModelInvocationJob modelInvocationType


# A model config picks one with `batch_format:`; Converse suits every model that the Converse API serves.
MODEL_INPUT_FORMATS: dict[str, BodyFormat] = {
    "converse": BodyFormat(_converse_body, "Converse"),
    "nova": BodyFormat(_nova_body, "InvokeModel"),
    "chat_completion": BodyFormat(_chat_completion_body, "InvokeModel"),
}
DEFAULT_FORMAT = "converse"


def body_format(model_cfg: Mapping[str, Any]) -> str:
    chosen = model_cfg.get("batch_format") or DEFAULT_FORMAT
    if chosen not in MODEL_INPUT_FORMATS:
        raise BatchError(f"model config {model_cfg.get('_source') or model_cfg.get('name')}: field batch_format "
                         f"{chosen!r} is not known; use one of {sorted(MODEL_INPUT_FORMATS)}")
    return str(chosen)


def model_input(provider: BedrockProvider, request: GenerationRequest, fmt: str) -> dict[str, Any]:
    """The modelInput of one request: the parameters the Converse provider would send for it."""
    return MODEL_INPUT_FORMATS[fmt].build(provider.converse_kwargs(request))


# --- the manifest --------------------------------------------------------------------------------------------


@dataclass
class BatchJob:
    candidate: str
    model_id: str
    body_format: str
    item_ids: list[str]  # record_id(i) -> item_ids[i]
    input_files: list[str]  # relative to the batch folder
    overrides: list[str] = field(default_factory=list)  # the Hydra overrides that chose the items
    skipped: dict[str, str] = field(default_factory=dict)  # item id -> why no request could be built
    created: str = ""
    region: str | None = None
    job_name: str = ""
    job_arn: str = ""
    role_arn: str = ""
    input_s3_uri: str = ""
    output_s3_uri: str = ""
    status: str = ""
    message: str = ""
    output_files: list[str] = field(default_factory=list)
    collected: str = ""

    @property
    def job_id(self) -> str:
        return self.job_arn.rsplit("/", 1)[-1]

    def records(self) -> dict[str, str]:
        return {record_id(i): item for i, item in enumerate(self.item_ids)}

    def save(self, folder: Path) -> Path:
        path = folder / MANIFEST
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(asdict(self), indent=1, ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)  # never a half-written manifest: it holds the job ARN
        return path

    @classmethod
    def load(cls, folder: Path | str) -> BatchJob:
        path = Path(folder) / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(**data)
        except FileNotFoundError:
            raise BatchError(f"{path} does not exist: {folder} is not a batch folder; make one with "
                             "`rft-evals batch write --candidate NAME --out DIR ...`") from None
        except (ValueError, TypeError) as exc:
            raise BatchError(f"{path} is not a batch manifest ({exc}); write the batch again") from None


# --- write -------------------------------------------------------------------------------------------------


def write_input(task: Any, items: Sequence[Mapping[str, Any]], name: str, model_cfg: Mapping[str, Any],
                folder: Path, *, seed: int = 0, overrides: Sequence[str] = (),
                max_records_per_file: int = MAX_RECORDS_PER_FILE, max_file_bytes: int = MAX_FILE_BYTES,
                chunk: int = 2000) -> BatchJob:
    """The batch input of one candidate on `items`: input/<name>-NNNNN.jsonl and batch.json."""
    from evals.inference.requests import build_requests

    if (folder / MANIFEST).exists():
        raise BatchError(f"{folder / MANIFEST} exists: that folder already holds a batch; choose another --out")
    if not items:
        raise BatchError("no items to write: check task.split and limit")
    settings = settings_from_config({**model_cfg, "name": model_cfg.get("name") or name})
    provider = BedrockProvider(settings, client=None)  # only its request builder is used
    fmt = body_format(model_cfg)
    (folder / INPUT_DIR).mkdir(parents=True, exist_ok=True)
    item_ids: list[str] = []
    skipped: dict[str, str] = {}
    files: list[str] = []
    handle, in_file, size = None, 0, 0
    try:
        for start in range(0, len(items), chunk):  # bounded memory: requests are built a chunk at a time
            for request in build_requests(task, items[start:start + chunk], model_cfg, seed):
                try:
                    body = model_input(provider, request, fmt)
                except ProviderError as exc:  # this item cannot be asked: it ends as its own error
                    skipped[request.item_id] = str(exc)
                    continue
                index = len(item_ids)
                line = (json.dumps({"recordId": record_id(index), "modelInput": body}) + "\n").encode()
                if handle is None or in_file >= max_records_per_file or size + len(line) > max_file_bytes:
                    if handle is not None:
                        handle.close()
                    files.append(f"{INPUT_DIR}/{name}-{len(files):05d}.jsonl")
                    handle, in_file, size = (folder / files[-1]).open("wb"), 0, 0
                handle.write(line)
                in_file, size = in_file + 1, size + len(line)
                item_ids.append(request.item_id)
    finally:
        if handle is not None:
            handle.close()
    if not item_ids:
        first = next(iter(skipped.values()))
        raise BatchError(f"none of the {len(skipped)} items could be made into a request; the first: {first}")
    if len(set(item_ids)) != len(item_ids):
        raise BatchError(f"the task's item ids repeat ({len(item_ids) - len(set(item_ids))} duplicates): "
                         "records could not be joined back to items")
    job = BatchJob(candidate=name, model_id=settings.model_id, body_format=fmt, item_ids=item_ids,
                   input_files=files, skipped=skipped, overrides=list(overrides), region=settings.region,
                   created=datetime.now(UTC).isoformat(timespec="seconds"))
    job.save(folder)
    return job


# --- submit / status / wait ------------------------------------------------------------------------------------


def split_s3_uri(uri: str) -> tuple[str, str]:
    match = re.fullmatch(r"s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(.*))?", uri or "")
    if match is None:
        raise BatchError(f"{uri!r} is not an S3 URI; give s3://<bucket>/<prefix> (--s3-uri or RFT_BATCH_S3_URI)")
    return match.group(1), (match.group(2) or "").strip("/")


def job_name_for(job: BatchJob, now: datetime | None = None) -> str:
    """[a-zA-Z0-9-], at most 63 characters, unique per second."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    stem = _JOB_NAME.sub("-", f"rft-evals-{job.candidate}").strip("-")[: 63 - len(stamp) - 1]
    return f"{stem}-{stamp}"


def submit(folder: Path, *, bedrock: Any, s3: Any, role_arn: str, s3_uri: str, job_name: str | None = None,
           model_id: str | None = None, timeout_hours: int | None = None,
           tags: Mapping[str, str] | None = None) -> BatchJob:
    """Upload the input files under <s3_uri>/<job name>/input/ and create the job (outputs go to
    <s3_uri>/<job name>/output/). Refuses a folder whose job was already submitted: that would pay twice."""
    job = BatchJob.load(folder)
    if job.job_arn:
        raise BatchError(f"{folder / MANIFEST}: job {job.job_arn} was already submitted; follow it with "
                         f"`rft-evals batch status {folder} --wait`, or write a new batch folder")
    if not role_arn or not role_arn.startswith("arn:"):
        raise BatchError(f"the service role ARN {role_arn!r} is not an ARN: pass --role-arn arn:aws:iam::<account>:"
                         "role/<name> (or set RFT_BATCH_ROLE_ARN); the role needs s3 read on the input and "
                         "write on the output prefix")
    bucket, prefix = split_s3_uri(s3_uri)
    if len(job.item_ids) < MIN_RECORDS_PER_JOB:
        print(f"rft-evals batch: warning: {len(job.item_ids)} records; Bedrock batch jobs usually need at least "
              f"{MIN_RECORDS_PER_JOB} (raise limit=)")
    name = job_name or job_name_for(job)
    base = f"{prefix}/{name}" if prefix else name
    for relative in job.input_files:
        with (folder / relative).open("rb") as body:
            s3.put_object(Bucket=bucket, Key=f"{base}/{relative}", Body=body)
    input_uri, output_uri = f"s3://{bucket}/{base}/{INPUT_DIR}/", f"s3://{bucket}/{base}/{OUTPUT_DIR}/"
    request: dict[str, Any] = {
        "jobName": name, "roleArn": role_arn, "modelId": model_id or job.model_id,
        "inputDataConfig": {"s3InputDataConfig": {"s3Uri": input_uri, "s3InputFormat": "JSONL"}},
        "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": output_uri}},
        "clientRequestToken": name,  # a retried submit of the same job name creates one job
        "modelInvocationType": MODEL_INPUT_FORMATS[job.body_format].invocation_type,
    }
    if timeout_hours:
        request["timeoutDurationInHours"] = int(timeout_hours)
    if tags:
        request["tags"] = [{"key": k, "value": str(v)} for k, v in tags.items()]
    response = bedrock.create_model_invocation_job(**request)
    job.job_name, job.job_arn, job.role_arn = name, response["jobArn"], role_arn
    job.input_s3_uri, job.output_s3_uri, job.status = input_uri, output_uri, "Submitted"
    if model_id:
        job.model_id = model_id
    job.save(folder)
    return job


def refresh(folder: Path, bedrock: Any) -> BatchJob:
    """GetModelInvocationJob once; the status and message are saved in the manifest."""
    job = _submitted(folder)
    response = bedrock.get_model_invocation_job(jobIdentifier=job.job_arn)
    job.status, job.message = str(response.get("status", "")), str(response.get("message") or "")
    job.save(folder)
    return job


def wait(folder: Path, bedrock: Any, *, poll_s: float = 60.0, deadline_s: float = 24 * 3600.0,
         sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
         on_status: Callable[[BatchJob], None] | None = None) -> BatchJob:
    """Poll until a terminal status; BatchTimeoutError when `deadline_s` passes first (the job keeps running:
    poll again later). Throttling and 5xx answers of the control plane are retried until the deadline."""
    from botocore.exceptions import ClientError

    until = clock() + deadline_s
    while True:
        try:
            job = refresh(folder, bedrock)
            if on_status is not None:
                on_status(job)
            if job.status in TERMINAL:
                return job
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code not in RETRYABLE_POLL_ERRORS:
                raise BatchError(f"GetModelInvocationJob failed for {folder}: {code}: {exc}") from None
            job = BatchJob.load(folder)
        if clock() + poll_s > until:
            raise BatchTimeoutError(f"job {job.job_arn} is still {job.status or 'unknown'} after {deadline_s:.0f} s; "
                                    f"it keeps running: poll again with `rft-evals batch status {folder} --wait`")
        sleep(poll_s)


def _submitted(folder: Path) -> BatchJob:
    job = BatchJob.load(folder)
    if not job.job_arn:
        raise BatchError(f"{folder / MANIFEST}: no job was submitted yet; run `rft-evals batch submit {folder} "
                         "--role-arn ... --s3-uri ...`")
    return job


# --- collect -----------------------------------------------------------------------------------------------


def download_outputs(folder: Path, s3: Any, *, allow_unfinished: bool = False) -> BatchJob:
    """Every *.jsonl.out and manifest.json.out under <output uri>/<job id>/ into output/."""
    job = _submitted(folder)
    if job.status not in TERMINAL and not allow_unfinished:
        raise BatchError(f"job {job.job_arn} is {job.status or 'not finished'}; wait for it with "
                         f"`rft-evals batch status {folder} --wait`")
    bucket, prefix = split_s3_uri(job.output_s3_uri)
    prefix = f"{prefix}/{job.job_id}/" if prefix else f"{job.job_id}/"
    keys: list[str] = []
    token = None
    while True:
        page = s3.list_objects_v2(Bucket=bucket, Prefix=prefix, **({"ContinuationToken": token} if token else {}))
        keys += [o["Key"] for o in page.get("Contents", []) if o["Key"].endswith((".jsonl.out", "manifest.json.out"))]
        if not page.get("IsTruncated"):
            break
        token = page["NextContinuationToken"]
    if not any(key.endswith(".jsonl.out") for key in keys):
        raise BatchError(f"no *.jsonl.out under s3://{bucket}/{prefix} (job status {job.status}: "
                         f"{job.message or 'no message'}); nothing to collect")
    out = folder / OUTPUT_DIR
    out.mkdir(exist_ok=True)
    job.output_files = []
    for key in keys:
        relative = f"{OUTPUT_DIR}/{key[len(prefix):].replace('/', '__')}"
        with (folder / relative).open("wb") as handle:
            shutil.copyfileobj(s3.get_object(Bucket=bucket, Key=key)["Body"], handle, 1 << 20)
        job.output_files.append(relative)
    job.save(folder)
    return job


@dataclass
class JoinReport:
    records: int = 0  # input records, each with one line in the joined file
    outputs: int = 0
    errors: Counter[str] = field(default_factory=Counter)  # Bedrock's error codes, MissingOutput, MalformedOutput
    unreadable_lines: int = 0  # output lines that are not JSON objects with a recordId
    unexpected: int = 0  # recordIds that are not in the input
    duplicates: int = 0  # recordIds seen twice (the first line is kept)
    manifest: dict[str, Any] = field(default_factory=dict)  # Bedrock's manifest.json.out, when present
    path: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "errors": dict(self.errors)}


def _error_line(item_id: str, code: str, message: str) -> dict[str, Any]:
    return {"recordId": item_id, "error": {"errorCode": code, "errorMessage": message}}


def _read_outputs(files: Iterable[Path], known: Mapping[str, str], report: JoinReport) -> dict[str, tuple]:
    """recordId -> (line as parsed, "file:line") for the input's records; everything else is counted."""
    found: dict[str, tuple[dict[str, Any], str]] = {}
    for path in files:
        with path.open(encoding="utf-8", errors="replace") as handle:
            for number, text in enumerate(handle, start=1):
                if not text.strip():
                    continue
                try:
                    line = json.loads(text)
                except (ValueError, RecursionError):
                    line = None
                if not isinstance(line, dict) or "recordId" not in line:
                    report.unreadable_lines += 1
                    continue
                rid = str(line["recordId"])
                if rid not in known:
                    report.unexpected += 1
                elif rid in found:
                    report.duplicates += 1
                else:
                    found[rid] = (line, f"{path.name}:{number}")
    return found


def join_outputs(folder: Path) -> JoinReport:
    """collected/<candidate>.jsonl.out: one line per input record, in input order, keyed by item id."""
    job = BatchJob.load(folder)
    records = job.records()
    report = JoinReport(records=len(records) + len(job.skipped))
    files = [folder / f for f in job.output_files if f.endswith(".jsonl.out")]
    manifests = [folder / f for f in job.output_files if f.endswith("manifest.json.out")]
    for manifest in manifests:
        try:
            report.manifest.update(json.loads(manifest.read_text(encoding="utf-8")))
        except (ValueError, OSError):
            report.manifest["unreadable"] = manifest.name
    found = _read_outputs(files, records, report)
    (folder / COLLECTED_DIR).mkdir(exist_ok=True)
    target = folder / COLLECTED_DIR / f"{job.candidate}.jsonl.out"
    with target.open("w", encoding="utf-8") as out:
        skipped = (_error_line(item, INVALID_INPUT, f"no request was sent: {why}") for item, why in job.skipped.items())
        joined = (_joined_line(rid, item_id, found.get(rid), job) for rid, item_id in records.items())
        for line in itertools.chain(joined, skipped):
            if "error" in line:
                error = line["error"]
                report.errors[str(error.get("errorCode", "unknown")) if isinstance(error, Mapping) else "unknown"] += 1
            else:
                report.outputs += 1
            out.write(json.dumps(line, ensure_ascii=True) + "\n")  # ascii: lone surrogates survive the file
    job.collected = str(target.relative_to(folder))
    job.save(folder)
    report.path = str(target)
    return report


def _joined_line(rid: str, item_id: str, found: tuple | None, job: BatchJob) -> dict[str, Any]:
    if found is None:
        return _error_line(item_id, MISSING, f"Bedrock returned no output line for record {rid} "
                                             f"(job {job.job_arn or job.job_name})")
    line, where = found
    joined = {key: value for key, value in line.items() if key not in ("recordId", "modelInput")}
    joined["recordId"] = item_id
    try:
        read_replay_line(joined, where, job.model_id)  # the replay provider must be able to read it
    except ReplayFormatError as exc:
        return _error_line(item_id, MALFORMED, f"{where}: record {rid}: {exc}")
    return joined


# --- scoring through `rft-evals run` -------------------------------------------------------------------------


def score_argv(folder: Path, job: BatchJob, candidates: Iterable[str], extra: Sequence[str] = ()) -> list[str]:
    """`rft-evals run` overrides that score the collected outputs: the batch's own overrides (same task and
    items), its candidate replayed from the collected file, the other candidates of the set dropped."""
    if not job.collected:
        raise BatchError(f"{folder / MANIFEST}: nothing collected yet; run `rft-evals batch collect {folder}`")
    path = (folder / job.collected).resolve()
    others = [f"~candidates.{name}" for name in candidates if name != job.candidate]
    key = f"candidates.{job.candidate}"
    replay = [f"++{key}.provider=replay", f"++{key}.path={_quoted(str(path))}",
              f"++{key}.model_id={_quoted(job.model_id)}",
              # recorded per-record errors (e.g. Bedrock's 400s) are outcomes, not a broken config: never
              # let the engine's fail-fast stop the scoring
              f"++{key}.fail_fast_after={len(job.item_ids) + len(job.skipped) + 1}"]
    return [*job.overrides, *others, *replay, *extra]


def _quoted(value: str) -> str:
    """A Hydra override value taken literally (paths and ARNs hold characters the grammar reads)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
