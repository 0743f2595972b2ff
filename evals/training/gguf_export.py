"""Serving trained checkpoints through llama.cpp: a saved Hugging Face model folder converted to a GGUF by
llama.cpp's own converter (convert_hf_to_gguf.py and its gguf-py), which ships inside llama-cpp-python's
source distribution. The sdist of the pinned llama-cpp-python is downloaded once with pip into a cache folder
and its converter files are extracted there; nothing of it is committed.

Base, SFT and RFT are all converted the same way, from float32 folders that share one dequantized base, to one
output type (f16 by default): unquantized weights make llama.cpp reproduce transformers' greedy output, so the
comparison measures training and not quantization."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

from platformdirs import user_cache_dir

LLAMA_CPP_PYTHON = "llama-cpp-python==0.3.36"  # the version the local extra pins: its converter matches its runtime
SDIST_PREFIX = "vendor/llama.cpp/"
WANTED = ("convert_hf_to_gguf.py", "convert_lora_to_gguf.py", "conversion/", "gguf-py/")
OUT_TYPES = ("f32", "f16", "bf16", "q8_0")


class ConverterError(RuntimeError):
    """The converter could not be found, downloaded or run; the message says how to fix it."""


def converter_dir(cache: Path | None = None) -> Path:
    """The folder holding convert_hf_to_gguf.py (downloaded and extracted on first use)."""
    env = os.environ.get("RFT_LLAMA_CPP_CONVERTER")
    if env:
        folder = Path(env)
        if not (folder / "convert_hf_to_gguf.py").is_file():
            raise ConverterError(f"RFT_LLAMA_CPP_CONVERTER={env}: no convert_hf_to_gguf.py there; point it at "
                                 "the vendor/llama.cpp folder of a llama-cpp-python source tree, or unset it")
        return folder
    version = LLAMA_CPP_PYTHON.split("==")[1]
    root = Path(cache or user_cache_dir("rft-evals")) / f"llama-cpp-converter-{version}"
    folder = root / "llama.cpp"
    if (folder / "convert_hf_to_gguf.py").is_file() and (folder / "gguf-py").is_dir():
        return folder
    root.mkdir(parents=True, exist_ok=True)
    sdist = _download_sdist(root)
    _extract(sdist, folder)
    return folder


def _download_sdist(root: Path) -> Path:
    found = sorted(root.glob("llama_cpp_python-*.tar.gz"))
    if found:
        return found[-1]
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", LLAMA_CPP_PYTHON,
               "-d", str(root), "-q"]
    result = subprocess.run(command, capture_output=True, text=True)
    found = sorted(root.glob("llama_cpp_python-*.tar.gz"))
    if result.returncode != 0 or not found:
        raise ConverterError(f"could not download the {LLAMA_CPP_PYTHON} source distribution (it carries "
                             f"llama.cpp's GGUF converter): {result.stderr.strip()[-500:]}; or set "
                             "RFT_LLAMA_CPP_CONVERTER to an unpacked vendor/llama.cpp folder")
    return found[-1]


def _extract(sdist: Path, folder: Path) -> None:
    partial = folder.with_name(folder.name + ".partial")
    with tarfile.open(sdist) as archive:
        for member in archive.getmembers():
            _, _, inner = member.name.partition("/")
            if not inner.startswith(SDIST_PREFIX):
                continue
            relative = inner[len(SDIST_PREFIX):]
            if not any(relative == w or (w.endswith("/") and relative.startswith(w)) for w in WANTED):
                continue
            if not (member.isfile() or member.isdir()):
                continue  # no links or devices from an archive
            member.name = relative
            archive.extract(member, partial, filter="data")
    partial.rename(folder)


def convert_to_gguf(model_dir: Path, out_file: Path, out_type: str = "f16", *, model_name: str | None = None,
                    cache: Path | None = None) -> Path:
    """Convert a saved transformers model folder to one GGUF file. `model_name` goes into the GGUF header
    (general.name): the evaluation cache fingerprints a GGUF by its first MB, so a name that differs per
    checkpoint keeps a retrained model from being answered from an older model's cache."""
    if out_type not in OUT_TYPES:
        raise ConverterError(f"gguf out type {out_type!r} is not one of {OUT_TYPES}")
    out_file = Path(out_file)
    folder = converter_dir(cache)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    partial = out_file.with_name(out_file.name + ".partial")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(folder / "gguf-py"), str(folder)])}
    command = [sys.executable, str(folder / "convert_hf_to_gguf.py"), str(model_dir), "--outfile", str(partial),
               "--outtype", out_type]
    if model_name:
        command += ["--model-name", model_name]
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0 or not partial.is_file():
        raise ConverterError(f"convert_hf_to_gguf.py failed on {model_dir}: {result.stderr.strip()[-800:]}")
    partial.rename(out_file)
    return out_file
