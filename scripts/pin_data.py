"""Write tasks/data_pins.json: sha256 and size of every data file the project reads, computed from a local
mirror (default /work/shared/data, laid out like the data root), plus where each file comes from upstream.

    python scripts/pin_data.py [--mirror DIR] [--out tasks/data_pins.json]

The sources below are facts about the public data sets (repository, pinned commit, license). Files whose
exact bytes are not published anywhere we know of are marked mirror_only: fetch copies them from a mirror.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MIRROR = Path("/work/shared/data")
DEFAULT_OUT = REPO_ROOT / "tasks" / "data_pins.json"


def raw(repo: str, commit: str) -> str:
    return f"https://raw.githubusercontent.com/{repo}/{commit}/"


SOURCES: list[dict[str, Any]] = [
    {
        "name": "claudette",
        "title": "CLAUDETTE English ToS corpus (50 Terms of Service, sentence-level unfairness tags)",
        "license": "CC-BY-4.0",
        "repository": "https://github.com/nlp-unibo/Multilingual-Unfair-Clause-Detection",
        "commit": "04d9878",
        "url_base": raw("nlp-unibo/Multilingual-Unfair-Clause-Detection", "04d9878"),
        "attribution": "Galassi, Lagioia, Jabłonowska, Lippi: Unfair clause detection in terms of service across "
                       "multiple languages, Artificial Intelligence and Law (2024); Lippi et al.: CLAUDETTE, "
                       "Artificial Intelligence and Law 27 (2019)",
        "patterns": ["corpus/sentences/en/original/*.txt", "corpus/tags/en/original/*.txt", "corpus/lists/*.txt",
                     "LICENSE.txt"],
        "overrides": {},
    },
    {
        "name": "tos_rationales",
        "title": "Legal rationales for unfair ToS clause categories (Memnet_ToS knowledge base)",
        "license": "MIT",
        "repository": "https://github.com/federicoruggeri/Memnet_ToS",
        "commit": "21dce3c",
        "url_base": raw("federicoruggeri/Memnet_ToS", "21dce3c"),
        "attribution": "Ruggeri, Lagioia, Lippi, Torroni: Detecting and explaining unfairness in consumer "
                       "contracts through memory networks, Artificial Intelligence and Law (2021)",
        "patterns": ["local_database/KB/*", "LICENSE"],
        "overrides": {},
    },
    {
        "name": "unfair_tos",
        "title": "LegalBench unfair_tos (UNFAIR-ToS from LexGLUE / CLAUDETTE), test split with corrected labels",
        "license": "CC-BY-4.0",
        "repository": "https://github.com/HazyResearch/legalbench",
        "commit": "1c7624b",
        "url_base": None,
        "attribution": "Guha et al.: LegalBench (2023); Chalkidis et al.: LexGLUE (2022); Lippi et al.: "
                       "CLAUDETTE (2019)",
        "patterns": ["*.tsv", "LICENSE.txt"],
        "overrides": {
            "test.tsv": {"mirror_only": True,
                         "note": "rows of legalbench@1c7624b tasks/unfair_tos with the permuted labels corrected"},
            "train_fewshot_legalbench_HEAD.tsv": {"mirror_only": True,
                                                  "note": "few-shot rows of a later legalbench version"},
            "LICENSE.txt": {"mirror_only": True, "note": "license note written for the mirror"},
        },
    },
    {
        "name": "contract_nli",
        "title": "ContractNLI v1 (NDAs x 17 hypotheses, NLI labels with evidence spans)",
        "license": "CC-BY-4.0 (see TERMS)",
        "repository": "https://github.com/TAOC0002/contract-nli",
        "commit": "46c57fc55560749d6f14164d38628472f5a46429",
        "url_base": raw("TAOC0002/contract-nli", "46c57fc55560749d6f14164d38628472f5a46429"),
        "attribution": "Koreeda, Manning: ContractNLI: A Dataset for Document-level Natural Language Inference "
                       "for Contracts, Findings of EMNLP 2021 (dataset by Hitachi America / Stanford NLP)",
        "patterns": ["*.json", "LICENSE", "TERMS"],
        "overrides": {name: {"upstream_path": f"data/contract-nli/{name}"}
                      for name in ("dev.json", "test.json", "train_truncated.json", "LICENSE", "TERMS")},
    },
    {
        "name": "cuad",
        "title": "CUAD v1 (Contract Understanding Atticus Dataset: 510 contracts, 41 clause categories)",
        "license": "CC-BY-4.0",
        "repository": "https://github.com/YiYang02/Legal-Text-Classification",
        "commit": "2f0c24ebdfc1baf4164c32fba0f5e661d3925733",
        "url_base": raw("YiYang02/Legal-Text-Classification", "2f0c24ebdfc1baf4164c32fba0f5e661d3925733"),
        "attribution": "Hendrycks, Burns, Chen, Ball: CUAD: An Expert-Annotated NLP Dataset for Legal Contract "
                       "Review, NeurIPS 2021 Datasets and Benchmarks; The Atticus Project",
        "patterns": ["master_clauses.csv", "category_descriptions.csv", "full_contract_txt.tar.gz",
                     "CUAD_v1_README.txt", "LICENSE.txt"],
        "overrides": {
            "category_descriptions.csv": {
                "url": raw("TheAtticusProject/cuad", "67faa0e") + "category_descriptions.csv"},
            "full_contract_txt.tar.gz": {
                "mirror_only": True,
                "note": "tar.gz of the CUAD v1 full_contract_txt/ folder made for the mirror; upstream ships the "
                        "folder inside the CUAD_v1 zip, not this archive"},
            "LICENSE.txt": {"mirror_only": True, "note": "license note written for the mirror"},
        },
    },
    {
        "name": "llmbar",
        "title": "LLMBar (Natural, Adversarial) and processed human-preference sets (MT-Bench, FairEval, LLMEval2)",
        "license": "MIT (MT-Bench judgments CC-BY-4.0)",
        "repository": "https://github.com/princeton-nlp/LLMBar",
        "commit": "900616b",
        "url_base": raw("princeton-nlp/LLMBar", "900616b"),
        "attribution": "Zeng, Yu, Gao, Meng, Goyal, Chen: Evaluating Large Language Models at Evaluating "
                       "Instruction Following, ICLR 2024; MT-Bench human judgments: Zheng et al. (2023)",
        "patterns": ["Dataset/**/dataset.json", "LICENSE"],
        "overrides": {},
    },
]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def pin_source(spec: dict[str, Any], mirror: Path) -> dict[str, Any]:
    folder = mirror / spec["name"]
    paths = sorted({p for pattern in spec["patterns"] for p in folder.glob(pattern) if p.is_file()})
    if not paths:
        raise SystemExit(f"no files for {spec['name']} under {folder} (patterns {spec['patterns']})")
    unknown = set(spec["overrides"]) - {p.relative_to(folder).as_posix() for p in paths}
    if unknown:
        raise SystemExit(f"{spec['name']}: overrides name files that are not in the mirror: {sorted(unknown)}")
    files = []
    for path in paths:
        rel = path.relative_to(folder).as_posix()
        entry: dict[str, Any] = {"path": rel, "sha256": sha256_of(path), "size": path.stat().st_size}
        entry.update(spec["overrides"].get(rel, {}))
        files.append(entry)
    keys = ("name", "title", "license", "repository", "commit", "url_base", "attribution")
    return {**{k: spec[k] for k in keys}, "files": files}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", type=Path, default=DEFAULT_MIRROR, help="folder laid out like the data root")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    pins = {"version": 1, "sources": [pin_source(spec, args.mirror) for spec in SOURCES]}
    args.out.write_text(json.dumps(pins, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    for s in pins["sources"]:
        print(f"{s['name']:15} {len(s['files']):4} files {sum(f['size'] for f in s['files']):>12,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
