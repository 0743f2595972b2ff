"""Bedrock batch inference: the input file written from a task, CreateModelInvocationJob and S3 driven through
botocore's Stubber, polling with a deadline, recorded-shape output files joined back by recordId, and the
round trip scored by `rft-evals run` (the replay provider reading the collected file)."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

import evals.cli.batch as batch_cli
import evals.providers.bedrock.batch as batch
from evals.providers.base import GenerationRequest
from evals.providers.bedrock.client import BedrockProvider, settings_from_config
from evals.providers.registry import ProviderContext, build_provider

ARN = "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/abc123"
ROLE = "arn:aws:iam::123456789012:role/bedrock-batch"
JOB_ARN = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/job123abc"
OVERRIDES = ["candidates=nova", f"candidates.rft.model_id={ARN}", "limit=6", "seed=3"]
JOB_NAME = "rft-evals-rft-test"

pytestmark = pytest.mark.usefixtures("fake_aws_credentials")


def clients():
    return boto3.client("bedrock", region_name="us-east-1"), boto3.client("s3", region_name="us-east-1")


@pytest.fixture(scope="module")
def env(data_root):
    previous = os.environ.get("RFT_DATA_DIR")
    os.environ["RFT_DATA_DIR"] = str(data_root)
    yield data_root
    if previous is None:
        os.environ.pop("RFT_DATA_DIR", None)
    else:
        os.environ["RFT_DATA_DIR"] = previous


@pytest.fixture(scope="module")
def selection(env):
    """The task and the items `rft-evals run` would evaluate with OVERRIDES."""
    return batch_cli.select_items(batch_cli.compose_run_config(OVERRIDES))


@pytest.fixture(scope="module")
def written(tmp_path_factory, env):
    folder = tmp_path_factory.mktemp("batch") / "rft"
    assert batch_cli.main(["write", "--candidate", "rft", "--out", str(folder), *OVERRIDES]) == 0
    return folder


def copy_of(folder: Path, tmp_path: Path) -> Path:
    target = tmp_path / folder.name
    shutil.copytree(folder, target)
    return target


def submitted(folder: Path, tmp_path: Path) -> Path:
    """A copy of the written batch as `submit` leaves it."""
    target = copy_of(folder, tmp_path)
    job = batch.BatchJob.load(target)
    job.job_name, job.job_arn, job.status = JOB_NAME, JOB_ARN, "Submitted"
    job.output_s3_uri = f"s3://my-bucket/rft-evals/{JOB_NAME}/output/"
    job.save(target)
    return target


# --- request bodies ------------------------------------------------------------------------------------------


def provider(**extra):
    config = {"name": "m", "provider": "bedrock", "model_id": "us.amazon.nova-2-lite-v1:0", "max_tokens": 100,
              "temperature": 0.2, "top_p": 0.9, "stop_sequences": ["END"], **extra}
    return BedrockProvider(settings_from_config(config), client=None)


REQUEST = GenerationRequest(item_id="doc:0", messages=(
    {"role": "system", "content": "You review."}, {"role": "user", "content": "Example?"},
    {"role": "assistant", "content": '{"comments": []}'}, {"role": "user", "content": "The window."}))


def test_record_ids_are_short_alphanumeric_and_unique():
    ids = [batch.record_id(i) for i in (0, 7, 49_999, 10**9)]
    assert all(len(i) == 11 and i.isalnum() for i in ids)
    assert len(set(ids)) == len(ids)


def test_converse_body_is_the_online_request_without_model_id():
    p = provider(additional_request_fields={"inferenceConfig": {"topK": 20}})
    converse = p.converse_kwargs(REQUEST)
    body = batch.model_input(p, REQUEST, "converse")
    assert body == {k: v for k, v in converse.items() if k != "modelId"}
    assert body["system"] == [{"text": "You review."}]
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert body["inferenceConfig"] == {"maxTokens": 100, "temperature": 0.2, "topP": 0.9, "stopSequences": ["END"]}


def test_native_bodies_for_nova_and_chat_completion():
    p = provider(additional_request_fields={"inferenceConfig": {"topK": 20}})
    nova = batch.model_input(p, REQUEST, "nova")
    assert nova["inferenceConfig"]["topK"] == 20 and nova["inferenceConfig"]["maxTokens"] == 100
    assert "additionalModelRequestFields" not in nova and "modelId" not in nova
    chat = batch.model_input(provider(model_id="openai.gpt-oss-120b-1:0"), REQUEST, "chat_completion")
    assert [m["role"] for m in chat["messages"]] == ["system", "user", "assistant", "user"]
    assert chat["messages"][-1]["content"] == "The window."
    assert (chat["max_completion_tokens"], chat["top_p"], chat["stop"]) == (100, 0.9, ["END"])
    assert batch.MODEL_INPUT_FORMATS["converse"].invocation_type == "Converse"
    assert batch.MODEL_INPUT_FORMATS["nova"].invocation_type == "InvokeModel"


def test_unknown_body_format_names_the_field():
    with pytest.raises(batch.BatchError, match="batch_format 'xml'.*chat_completion"):
        batch.body_format({"name": "m", "batch_format": "xml"})


# --- write ---------------------------------------------------------------------------------------------------


def test_write_holds_the_run_items_in_order(written, selection):
    task, items = selection
    job = batch.BatchJob.load(written)
    assert job.item_ids == [str(item["id"]) for item in items] and len(job.item_ids) == 6
    assert job.overrides == OVERRIDES and job.model_id == ARN and job.body_format == "converse"
    lines = [json.loads(line) for f in job.input_files for line in (written / f).read_text().splitlines()]
    assert [line["recordId"] for line in lines] == [batch.record_id(i) for i in range(6)]
    # each modelInput is the request the online provider would send for that item
    from evals.inference.requests import build_requests

    nova = batch_cli.compose_run_config(OVERRIDES)["candidates"]["rft"]
    online = BedrockProvider(settings_from_config(nova), client=None)
    for line, request in zip(lines, build_requests(task, list(items), nova, 3), strict=True):
        expected = online.converse_kwargs(request)
        assert line["modelInput"] == {k: v for k, v in expected.items() if k != "modelId"}


def test_write_splits_files_and_refuses_an_existing_folder(tmp_path, selection, written):
    task, items = selection
    nova = batch_cli.compose_run_config(OVERRIDES)["candidates"]["rft"]
    job = batch.write_input(task, items, "rft", nova, tmp_path / "split", max_records_per_file=4, chunk=3)
    sizes = [len((tmp_path / "split" / f).read_text().splitlines()) for f in job.input_files]
    assert sizes == [4, 2]
    with pytest.raises(batch.BatchError, match="already holds a batch"):
        batch.write_input(task, items, "rft", nova, written)


class TinyTask:
    """Three items; the second cannot be made into a Bedrock request (its content is not text)."""

    def output_schema(self):
        return {"type": "object"}

    def messages(self, item, examples=()):
        return [{"role": "user", "content": None if item["id"] == "b" else f"review {item['id']}"}]


def test_an_item_without_a_request_ends_as_its_own_error(tmp_path):
    items = [{"id": "a"}, {"id": "b"}, {"id": "c"}]
    model = {"name": "m", "provider": "bedrock", "model_id": "us.amazon.nova-2-lite-v1:0"}
    job = batch.write_input(TinyTask(), items, "m", model, tmp_path, max_file_bytes=300)
    assert job.item_ids == ["a", "c"] and list(job.skipped) == ["b"]
    assert len(job.input_files) == 2  # the byte bound split the two small records
    out = tmp_path / "output" / "m-00000.jsonl.out"
    out.parent.mkdir()
    out.write_text(json.dumps({"recordId": batch.record_id(1), "modelOutput": converse_output("{}")}) + "\n")
    job.output_files = ["output/m-00000.jsonl.out"]
    job.save(tmp_path)
    report = batch.join_outputs(tmp_path)
    assert (report.records, report.outputs) == (3, 1)
    assert report.errors == {batch.MISSING: 1, batch.INVALID_INPUT: 1}
    lines = {json.loads(line)["recordId"]: json.loads(line) for line in Path(report.path).read_text().splitlines()}
    assert set(lines) == {"a", "b", "c"} and "modelOutput" in lines["c"]
    assert "every message needs a string role and content" in lines["b"]["error"]["errorMessage"]


def test_write_refuses_a_candidate_that_is_not_on_bedrock(tmp_path, env, capsys):
    code = batch_cli.main(["write", "--candidate", "tfidf_baseline", "--out", str(tmp_path / "x"), "limit=2"])
    assert code == 2
    assert "batch inference runs Bedrock models only" in capsys.readouterr().err


# --- submit --------------------------------------------------------------------------------------------------


def test_submit_uploads_the_input_and_creates_the_job(written, tmp_path):
    folder = copy_of(written, tmp_path)
    bedrock, s3 = clients()
    base = f"rft-evals/{JOB_NAME}"
    with Stubber(s3) as s3_stub, Stubber(bedrock) as bedrock_stub:
        s3_stub.add_response("put_object", {"ETag": '"x"'},
                             {"Bucket": "my-bucket", "Key": f"{base}/input/rft-00000.jsonl", "Body": ANY})
        bedrock_stub.add_response("create_model_invocation_job", {"jobArn": JOB_ARN}, {
            "jobName": JOB_NAME, "roleArn": ROLE, "modelId": ARN, "clientRequestToken": JOB_NAME,
            "modelInvocationType": "Converse", "timeoutDurationInHours": 48,
            "inputDataConfig": {"s3InputDataConfig": {"s3Uri": f"s3://my-bucket/{base}/input/",
                                                      "s3InputFormat": "JSONL"}},
            "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": f"s3://my-bucket/{base}/output/"}}})
        job = batch.submit(folder, bedrock=bedrock, s3=s3, role_arn=ROLE, s3_uri="s3://my-bucket/rft-evals/",
                           job_name=JOB_NAME, timeout_hours=48)
        s3_stub.assert_no_pending_responses()
        bedrock_stub.assert_no_pending_responses()
    saved = batch.BatchJob.load(folder)
    assert saved.job_arn == job.job_arn == JOB_ARN and saved.status == "Submitted"
    assert saved.output_s3_uri == f"s3://my-bucket/{base}/output/"
    # a second submit would pay twice: refused before any call (the stubs have no responses left)
    with Stubber(s3), Stubber(bedrock), pytest.raises(batch.BatchError, match="already submitted"):
        batch.submit(folder, bedrock=bedrock, s3=s3, role_arn=ROLE, s3_uri="s3://my-bucket/rft-evals")


@pytest.mark.parametrize(("role", "uri", "message"), [
    ("", "s3://my-bucket/p", "is not an ARN"),
    (ROLE, "my-bucket/p", "is not an S3 URI"),
])
def test_submit_names_a_bad_role_or_location(written, tmp_path, role, uri, message):
    bedrock, s3 = clients()
    with Stubber(s3), Stubber(bedrock), pytest.raises(batch.BatchError, match=message):
        batch.submit(copy_of(written, tmp_path), bedrock=bedrock, s3=s3, role_arn=role, s3_uri=uri)


# --- status / wait ---------------------------------------------------------------------------------------------


class Clock:
    def __init__(self):
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def job_response(status: str, message: str = "") -> dict:
    response = {"jobArn": JOB_ARN, "modelId": ARN, "roleArn": ROLE, "status": status,
                "submitTime": "2026-01-01T00:00:00Z",
                "inputDataConfig": {"s3InputDataConfig": {"s3Uri": "s3://my-bucket/in/"}},
                "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://my-bucket/out/"}}}
    return {**response, "message": message} if message else response


def test_wait_polls_to_a_terminal_status_through_throttling(written, tmp_path):
    folder = submitted(written, tmp_path)
    bedrock, _ = clients()
    clock = Clock()
    seen: list[str] = []
    with Stubber(bedrock) as stub:
        stub.add_response("get_model_invocation_job", job_response("Validating"), {"jobIdentifier": JOB_ARN})
        stub.add_client_error("get_model_invocation_job", "ThrottlingException", "slow down", 429)
        stub.add_response("get_model_invocation_job", job_response("InProgress"), {"jobIdentifier": JOB_ARN})
        stub.add_response("get_model_invocation_job", job_response("PartiallyCompleted", "2 records failed"),
                          {"jobIdentifier": JOB_ARN})
        job = batch.wait(folder, bedrock, poll_s=30, deadline_s=3600, sleep=clock.sleep, clock=clock,
                         on_status=lambda j: seen.append(j.status))
        stub.assert_no_pending_responses()
    assert (job.status, job.message) == ("PartiallyCompleted", "2 records failed")
    assert seen == ["Validating", "InProgress", "PartiallyCompleted"] and clock.sleeps == [30, 30, 30]
    assert batch.BatchJob.load(folder).status == "PartiallyCompleted"


def test_wait_gives_up_at_its_deadline_and_says_how_to_resume(written, tmp_path):
    folder = submitted(written, tmp_path)
    bedrock, _ = clients()
    clock = Clock()
    with Stubber(bedrock) as stub:
        for _ in range(4):  # t = 0, 30, 60, 90; the next poll would pass the 100 s deadline
            stub.add_response("get_model_invocation_job", job_response("InProgress"), {"jobIdentifier": JOB_ARN})
        with pytest.raises(batch.BatchTimeoutError, match="still InProgress.*batch status"):
            batch.wait(folder, bedrock, poll_s=30, deadline_s=100, sleep=clock.sleep, clock=clock)
        stub.assert_no_pending_responses()


def test_wait_stops_on_a_refused_call(written, tmp_path):
    folder = submitted(written, tmp_path)
    bedrock, _ = clients()
    with Stubber(bedrock) as stub:
        stub.add_client_error("get_model_invocation_job", "AccessDeniedException", "no", 403)
        with pytest.raises(batch.BatchError, match="AccessDeniedException"):
            batch.wait(folder, bedrock, poll_s=1, deadline_s=10, sleep=lambda s: None)


@pytest.mark.parametrize(("status", "code", "hint"), [("Completed", 0, "batch collect"), ("Failed", 1, "")])
def test_status_command_reports_and_exits_by_outcome(written, tmp_path, monkeypatch, capsys, status, code, hint):
    folder = submitted(written, tmp_path)
    bedrock, s3 = clients()
    monkeypatch.setattr(batch_cli, "make_clients", lambda region, profile: (bedrock, s3))
    with Stubber(bedrock) as stub:
        stub.add_response("get_model_invocation_job", job_response(status, "why"), {"jobIdentifier": JOB_ARN})
        assert batch_cli.main(["status", str(folder)]) == code
    out = capsys.readouterr().out
    assert f"{JOB_NAME}: {status} (why)" in out and hint in out


def test_submit_command_without_role_or_bucket_says_where_to_set_them(written, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(batch_cli.ROLE_ENV, raising=False)
    monkeypatch.delenv(batch_cli.S3_ENV, raising=False)
    assert batch_cli.main(["submit", str(copy_of(written, tmp_path))]) == 2
    assert "--role-arn and --s3-uri (or set RFT_BATCH_ROLE_ARN and RFT_BATCH_S3_URI)" in capsys.readouterr().err


# --- collect: recorded-shape outputs, joined by recordId ---------------------------------------------------------


def converse_output(text: str, stop: str = "end_turn", reasoning: bool = False) -> dict:
    blocks = ([{"reasoningContent": {"reasoningText": {"text": "think {"}}}] if reasoning else []) + [{"text": text}]
    return {"output": {"message": {"role": "assistant", "content": blocks}}, "stopReason": stop,
            "usage": {"inputTokens": 3000, "outputTokens": 120, "totalTokens": 3120}, "metrics": {"latencyMs": 900}}


def recorded_outputs(task, items) -> tuple[bytes, bytes]:
    """What Bedrock writes: out of order, one error, one record missing, one unusable, noise."""
    gold = [task.render_gold(item) for item in items]
    rid = batch.record_id
    lines = [
        {"recordId": rid(3), "modelInput": {"messages": []}, "modelOutput": converse_output(gold[3])},
        {"recordId": rid(0), "modelInput": {}, "modelOutput": converse_output(gold[0], reasoning=True)},
        {"recordId": rid(1), "modelInput": {}, "error": {"errorCode": 400, "errorMessage": "Malformed input"}},
        # rid(2): no line at all
        {"recordId": rid(4), "modelInput": {}, "modelOutput": {"completion": "a shape nobody reads"}},
        {"recordId": rid(5), "modelInput": {}, "modelOutput": converse_output(gold[5][:40], stop="max_tokens")},
        {"recordId": "R9999999999", "modelOutput": converse_output("{}")},  # not in the input
        {"recordId": rid(0), "modelOutput": converse_output("{}")},  # a duplicate: the first line wins
    ]
    text = "\n".join(json.dumps(line) for line in lines) + "\nnot json {\n"
    manifest = {"totalRecordCount": 6, "processedRecordCount": 5, "successRecordCount": 4, "errorRecordCount": 1,
                "inputTokenCount": 15000, "outputTokenCount": 480}
    return text.encode(), json.dumps(manifest).encode()


def body(data: bytes) -> StreamingBody:
    return StreamingBody(io.BytesIO(data), len(data))


def stub_outputs(s3_stub: Stubber, outputs: bytes, manifest: bytes) -> None:
    prefix = f"rft-evals/{JOB_NAME}/output/job123abc/"
    records, counts = prefix + "rft-00000.jsonl.out", prefix + "manifest.json.out"
    s3_stub.add_response("list_objects_v2", {
        "IsTruncated": True, "NextContinuationToken": "page2",
        "Contents": [{"Key": records, "Size": len(outputs)}, {"Key": prefix + "notes.txt"}]},
        {"Bucket": "my-bucket", "Prefix": prefix})
    s3_stub.add_response("list_objects_v2", {"IsTruncated": False, "Contents": [{"Key": counts}]},
                         {"Bucket": "my-bucket", "Prefix": prefix, "ContinuationToken": "page2"})
    s3_stub.add_response("get_object", {"Body": body(outputs)}, {"Bucket": "my-bucket", "Key": records})
    s3_stub.add_response("get_object", {"Body": body(manifest)}, {"Bucket": "my-bucket", "Key": counts})


@pytest.fixture
def collected(written, selection, tmp_path, monkeypatch, capsys):
    """A submitted, completed batch collected through `rft-evals batch collect` (clients stubbed)."""
    task, items = selection
    folder = submitted(written, tmp_path)
    job = batch.BatchJob.load(folder)
    job.status = "Completed"
    job.save(folder)
    bedrock, s3 = clients()
    monkeypatch.setattr(batch_cli, "make_clients", lambda region, profile: (bedrock, s3))
    with Stubber(s3) as s3_stub:
        stub_outputs(s3_stub, *recorded_outputs(task, items))
        assert batch_cli.main(["collect", str(folder)]) == 0
        s3_stub.assert_no_pending_responses()
    out = capsys.readouterr().out
    report = json.loads(out[: out.rindex("}") + 1])
    return folder, report


def test_collect_joins_every_record_by_record_id(collected, selection):
    folder, report = collected
    _, items = selection
    assert report["records"] == 6 and report["outputs"] == 3  # records 0, 3 and 5
    assert report["errors"] == {"400": 1, batch.MISSING: 1, batch.MALFORMED: 1}
    assert (report["unexpected"], report["duplicates"], report["unreadable_lines"]) == (1, 1, 1)
    assert report["manifest"]["successRecordCount"] == 4
    lines = [json.loads(line) for line in Path(report["path"]).read_text().splitlines()]
    assert sorted(line["recordId"] for line in lines) == sorted(str(item["id"]) for item in items)
    assert all(("modelOutput" in line) != ("error" in line) for line in lines)
    # the replay provider reads the joined file as it is
    replay = build_provider({"name": "rft", "provider": "replay", "path": report["path"], "model_id": ARN},
                            ProviderContext(task=None))
    assert replay.identity()["records"] == 6


def test_collect_refuses_a_running_job(written, tmp_path):
    folder = submitted(written, tmp_path)
    _, s3 = clients()
    with Stubber(s3), pytest.raises(batch.BatchError, match="is Submitted.*--wait"):
        batch.download_outputs(folder, s3)


# --- the round trip: scored by `rft-evals run` ---------------------------------------------------------------


@pytest.mark.slow  # a subprocess `rft-evals run`: about 20 s on 2 busy cores
def test_round_trip_every_record_scored_or_classified(collected, selection, tmp_path, data_root):
    folder, _ = collected
    task, items = selection
    env = {**os.environ, "RFT_DATA_DIR": str(data_root)}
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "evals.cli", "batch", "score", str(folder), "tracking=none",
               "cache.enabled=false", f"hydra.run.dir={run_dir}"]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert list(summary["candidates"]) == ["rft"]  # base and sft of the set were dropped, not called
    assert summary["candidates"]["rft"]["model_id"] == ARN
    records = {r["item_id"]: r for r in map(json.loads, (run_dir / "records" / "rft.jsonl").read_text().splitlines())}
    ids = [str(item["id"]) for item in items]
    assert sorted(records) == sorted(ids)
    kinds = {i: [e["kind"] for e in records[i]["errors"]] for i in ids}
    for index in (0, 3):  # the gold answers, one behind a reasoning block: scored, nothing missed
        record = records[ids[index]]
        assert record["values"]["schema_valid"] == 1.0 and record["values"]["risk_fn"] == 0.0, record
        assert kinds[ids[index]] == []
    assert "truncated" in kinds[ids[5]] and records[ids[5]]["values"]  # scored, flagged as cut off
    assert kinds[ids[1]] == ["validation_error"]  # Bedrock's 400 for that record
    assert kinds[ids[2]] == ["provider_error"] and batch.MISSING in records[ids[2]]["errors"][0]["message"]
    assert kinds[ids[4]] == ["provider_error"] and batch.MALFORMED in records[ids[4]]["errors"][0]["message"]
    assert all(r["values"] or r["errors"] for r in records.values())
