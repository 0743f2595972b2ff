"""Replay provider: plain JSONL and Bedrock batch output, read at build time, with errors that name the line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.providers.base import GenerationRequest, ProviderError
from evals.providers.registry import ProviderContext, build_provider
from evals.providers.replay import ReplayFormatError
from metrics.errors import ErrorKind

CONTEXT = ProviderContext(task=None)


def request(item_id: str) -> GenerationRequest:
    return GenerationRequest(item_id=item_id, messages=({"role": "user", "content": "review"},))


def write_lines(path: Path, rows: list[object]) -> Path:
    path.write_text("\n".join(row if isinstance(row, str) else json.dumps(row) for row in rows) + "\n")
    return path


def converse_output(*blocks: dict, stop: str = "end_turn", usage: tuple[int, int] = (120, 30)) -> dict:
    return {"output": {"message": {"role": "assistant", "content": list(blocks)}}, "stopReason": stop,
            "usage": {"inputTokens": usage[0], "outputTokens": usage[1], "totalTokens": sum(usage)}}


def replay(path: Path | str, **extra):
    return build_provider({"name": "nova-sft", "provider": "replay", "path": str(path), **extra}, CONTEXT)


def test_plain_jsonl_strings_and_objects(tmp_path):
    answer = {"comments": [{"text_excerpt": "we may terminate", "risk": "unilateral_termination"}]}
    path = write_lines(tmp_path / "outputs.jsonl", [
        {"id": "doc-a:0", "output": '{"comments": []}'},
        {"id": 7, "output": answer},  # non-string ids and object outputs are normalised
        "",  # blank lines are skipped
    ])
    provider = replay(path)
    assert provider.generate(request("doc-a:0")).text == '{"comments": []}'
    assert json.loads(provider.generate(request("7")).text) == answer
    assert provider.max_concurrency >= 1
    assert provider.identity()["records"] == 2


def test_bedrock_batch_output_directory(tmp_path):
    outdir = tmp_path / "job-out"
    outdir.mkdir()
    write_lines(outdir / "input.jsonl.out", [
        {"recordId": "r1", "modelInput": {"messages": []},
         "modelOutput": converse_output({"text": '{"comments": []}'}, usage=(900, 12))},
        # GPT OSS: a reasoning block before the text block; only the text is the answer.
        {"recordId": "r2", "modelInput": {},
         "modelOutput": converse_output({"reasoningContent": {"reasoningText": {"text": "thinking {not json"}}},
                                        {"text": '{"comments": [1]}'}, stop="max_tokens")},
        {"recordId": "r3", "modelInput": {},
         "error": {"errorCode": 429, "errorMessage": "Too many requests"}},
    ])
    (outdir / "manifest.json.out").write_text('{"totalRecordCount": 3}')  # not a records file: ignored
    provider = replay(outdir)

    first = provider.generate(request("r1"))
    assert first.text == '{"comments": []}'
    assert (first.usage.input_tokens, first.usage.output_tokens) == (900, 12)
    assert first.stop_reason == "end_turn"

    second = provider.generate(request("r2"))
    assert second.text == '{"comments": [1]}'
    assert "thinking" not in second.text
    assert second.truncated

    with pytest.raises(ProviderError) as failed:
        provider.generate(request("r3"))
    assert failed.value.code == "429"
    assert failed.value.kind is ErrorKind.THROTTLED
    assert not failed.value.retryable and not failed.value.fatal
    assert "Too many requests" in str(failed.value)


def test_glob_joins_files_and_identity_tracks_content(tmp_path):
    write_lines(tmp_path / "part-1.jsonl", [{"id": "a", "output": "x"}])
    write_lines(tmp_path / "part-2.jsonl", [{"id": "b", "output": "y"}])
    provider = replay(tmp_path / "part-*.jsonl")
    assert provider.generate(request("b")).text == "y"
    before = dict(provider.identity())
    assert replay(tmp_path / "part-*.jsonl").identity() == before  # stable for the same files
    write_lines(tmp_path / "part-2.jsonl", [{"id": "b", "output": "changed"}])
    assert replay(tmp_path / "part-*.jsonl").identity()["sha256"] != before["sha256"]


def test_missing_id_is_a_sample_error(tmp_path):
    path = write_lines(tmp_path / "outputs.jsonl", [{"id": "a", "output": "x"}])
    with pytest.raises(ProviderError) as failed:
        replay(path).generate(request("zzz"))
    assert failed.value.kind is ErrorKind.INPUT
    assert not failed.value.retryable and not failed.value.fatal
    assert "no output for id zzz" in str(failed.value) and str(path) in str(failed.value)


@pytest.mark.parametrize("bad_line, fragment", [
    ("{not json", "not valid JSON"),
    ('["a", "list"]', "expected a JSON object"),
    ('{"id": "b", "answer": "x"}', "neither"),
    ('{"recordId": "b", "modelInput": {}, "modelOutput": {"unexpected": 1}}', "malformed record"),
    ('{"recordId": "b", "modelInput": {}, "modelOutput": {"output": {"message": {}}}}', "malformed record"),
])
def test_malformed_line_names_file_and_line(tmp_path, bad_line, fragment):
    path = write_lines(tmp_path / "outputs.jsonl", [{"id": "a", "output": "x"}, bad_line])
    with pytest.raises(ReplayFormatError) as failed:
        replay(path)
    assert f"{path}:2" in str(failed.value)
    assert fragment in str(failed.value)


def test_duplicate_ids_name_both_lines(tmp_path):
    path = write_lines(tmp_path / "outputs.jsonl",
                       [{"id": "a", "output": "x"}, {"id": "b", "output": "y"}, {"id": "a", "output": "z"}])
    with pytest.raises(ReplayFormatError) as failed:
        replay(path)
    assert f"{path}:1" in str(failed.value) and f"{path}:3" in str(failed.value)


def test_unset_or_empty_path_is_a_clear_error(tmp_path):
    with pytest.raises(ReplayFormatError, match="`path` is not set"):
        build_provider({"name": "r", "provider": "replay", "path": None,
                        "_source": "conf/model/replay.yaml"}, CONTEXT)
    with pytest.raises(ReplayFormatError, match="matches no output file"):
        replay(tmp_path / "nothing-*.jsonl")
