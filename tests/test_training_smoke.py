"""CI smoke test of `rft-evals train` (slow; needs the train and local extras): every stage for one step on a
couple of train windows, the result served through llama.cpp, and llama.cpp's greedy output checked against
transformers' for the trained checkpoint. A few minutes on 2 cores (see docs/training.md)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("trl")
pytest.importorskip("peft")
pytest.importorskip("llama_cpp")

# the module's fixture trains all four stages: minutes on 2 idle cores, far more on a busy machine
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]
PARITY_TOKENS = 24


@pytest.fixture(scope="module")
def trained(tmp_path_factory, data_root):
    """One tiny training run (tracked in a throwaway MLflow store) and its layout."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf
    from rich.console import Console

    from evals.training.command import CONF_DIR, train
    from evals.training.layout import Layout

    root = tmp_path_factory.mktemp("train")
    overrides = [f"checkpoints_dir={root / 'ckpt'}", "max_steps=1", "sft.examples=2", "sft.batch_size=1",
                 "sft.grad_accum=1", "rft.prompts=2", "rft.num_generations=2", "rft.max_completion_length=12",
                 "rft.save_steps=1", "task.window.size=4", "task.window.stride=4",
                 f"data_root={data_root}", f"tracking.uri=sqlite:///{root / 'mlflow.db'}"]
    GlobalHydra.instance().clear()  # another test may have left Hydra initialized
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose(config_name="train", overrides=overrides)
    config = OmegaConf.to_container(cfg, resolve=True)
    assert train(config, Console(width=150)) == 0
    return Layout(root / "ckpt"), config, root


def test_every_stage_finishes_and_is_measured(trained):
    layout, _, _ = trained
    manifest = layout.read_manifest()
    assert set(manifest["stages"]) == {"base", "sft", "rft", "serve"}
    for stage, result in manifest["stages"].items():
        assert result["exit_code"] == 0, stage
        assert result["peak_rss_mb"] > 100, stage  # a real process ran (torch alone is more than this)
    for stage in ("base", "sft", "rft"):
        gguf = layout.gguf(stage)
        assert gguf.is_file() and gguf.stat().st_size > 200e6  # f16 SmolLM2-135M
        sidecar = json.loads(Path(f"{gguf}.json").read_text())
        assert sidecar["training_stage"] == stage and sidecar["training_run_id"] == manifest["mlflow_run_id"]
    assert [step for step, _ in layout.step_ggufs()] == [1]


def test_training_curves_are_in_mlflow(trained):
    import mlflow

    layout, _, root = trained
    manifest = layout.read_manifest()
    client = mlflow.tracking.MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
    parent = client.get_run(manifest["mlflow_run_id"])
    assert parent.info.status == "FINISHED" and parent.data.tags["kind"] == "training"
    assert "sft_peak_rss_mb" in parent.data.metrics and "rft_wall_seconds" in parent.data.metrics
    sft = client.get_run(manifest["stage_run_ids"]["sft"])
    rft = client.get_run(manifest["stage_run_ids"]["rft"])
    assert sft.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert any(key.endswith("loss") for key in sft.data.metrics), sorted(sft.data.metrics)
    assert any(key.endswith("reward") for key in rft.data.metrics), sorted(rft.data.metrics)
    # a reward component, logged by the adapter through TRL's log_metric hook
    assert "contract_review_deterministic/review" in rft.data.metrics, sorted(rft.data.metrics)
    assert any(key.endswith("kl") for key in rft.data.metrics), sorted(rft.data.metrics)


def test_llama_cpp_reproduces_transformers_greedy_output(trained, data_root):
    """The trained SFT checkpoint: transformers on the merged float32 folder and llama.cpp on its f16 GGUF give
    the same greedy text on a few held-out prompts."""
    import torch
    from llama_cpp import Llama
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tasks.registry import build_task

    layout, config, _ = trained
    task = build_task(config["task"], data_root=data_root)
    rows = task.rows("test")[:3]
    tokenizer = AutoTokenizer.from_pretrained(layout.merged("sft"))
    model = AutoModelForCausalLM.from_pretrained(layout.merged("sft"), dtype=torch.float32)
    llm = Llama(model_path=str(layout.gguf("sft")), n_ctx=4096, n_threads=2, seed=0, verbose=False)
    for row in rows:
        messages = task.messages(row)
        ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                            return_dict=True)
        with torch.no_grad():
            out = model.generate(**ids, max_new_tokens=PARITY_TOKENS, do_sample=False)
        expected = tokenizer.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)
        got = llm.create_chat_completion(messages=messages, max_tokens=PARITY_TOKENS, temperature=0.0,
                                         seed=0)["choices"][0]["message"]["content"]
        assert got.strip() == expected.strip(), row["id"]
    llm.close()


def test_sweep_evaluates_each_served_checkpoint(trained, tmp_path, data_root):
    from evals.training.sweep import sweep

    layout, _, root = trained
    code = sweep(layout, limit=2, seed=0, out_dir=tmp_path / "sweep",
                 overrides=[f"data_root={data_root}", f"tracking.uri=sqlite:///{root / 'mlflow.db'}",
                            f"cache.path={tmp_path / 'cache.sqlite'}", "candidates.smollm2_rft.max_tokens=48"])
    assert code == 0
    result = json.loads((tmp_path / "sweep" / "sweep.json").read_text())
    assert [p["step"] for p in result["curves"]["reward"]] == [0, 1]
    assert (tmp_path / "sweep" / "sweep.png").stat().st_size > 10_000
    latest = json.loads((layout.root / "sweep" / "sweep.json").read_text())  # what suite=trained's report reads
    assert latest["curves"] == result["curves"] and (layout.root / "sweep" / "sweep.png").is_file()
    shutil.rmtree(tmp_path / "sweep")
