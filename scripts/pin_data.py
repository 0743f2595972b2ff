"""Write tasks/data_pins.json: sha256 and size of every data file the project reads, computed from a local
mirror (default: the data root, $RFT_DATA_DIR; laid out like the data root), plus where each file comes from upstream.

    python scripts/pin_data.py [--mirror DIR] [--out tasks/data_pins.json]

The sources below are facts about the public data sets (repository, pinned commit, license). Files whose
exact bytes are not published as such carry a `derive` entry: the public source and the transformation
(tasks/data_derive.py) that turns it into the pinned bytes.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "tasks" / "data_pins.json"


LEGALBENCH_EARLY = "1c7624b8f8e9f56f4a2c65ddd47d2d4e87ac32e6"  # test.tsv with permuted labels (2023-03-16)
LEGALBENCH_EARLY_TEST_SHA256 = "cf94f31d29c06731a7a5f769b710c0e420f68a772f15f997abcb3d28268b2c28"  # blob 516609d1
LEGALBENCH_FEWSHOT = "447aad07d2fdb9709784b1d32791c5ab215fa976"  # last change of tasks/unfair_tos/train.tsv
CUAD_RELEASE_ZIP = "https://zenodo.org/records/4595826/files/CUAD_v1.zip?download=1"  # official CUAD v1 release


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
            "test.tsv": {
                "derive": {"kind": "legalbench_relabel", "url": raw("HazyResearch/legalbench", LEGALBENCH_EARLY)
                           + "tasks/unfair_tos/test.tsv", "sha256": LEGALBENCH_EARLY_TEST_SHA256},
                "note": "rows of legalbench@1c7624b tasks/unfair_tos/test.tsv with the permuted labels corrected "
                        "(tasks/data_derive.py)"},
            "train_fewshot_legalbench_HEAD.tsv": {
                "url": raw("HazyResearch/legalbench", LEGALBENCH_FEWSHOT) + "tasks/unfair_tos/train.tsv",
                "note": "tasks/unfair_tos/train.tsv of legalbench@447aad0 (its last change), verbatim"},
            "LICENSE.txt": {"derive": {"kind": "text", "url": raw("HazyResearch/legalbench", LEGALBENCH_EARLY)
                                       + "tasks/unfair_tos/README.md"},
                            "note": "attribution note (license as stated in the task README), written by fetch"},
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
                "derive": {"kind": "zip_members_to_tar_gz", "url": CUAD_RELEASE_ZIP, "folder": "full_contract_txt"},
                "verify": "members",
                "note": "the full_contract_txt/ folder of the official CUAD v1 release zip (Zenodo), repacked; "
                        "each text is checked against its own sha256"},
            "LICENSE.txt": {"derive": {"kind": "text", "url": CUAD_RELEASE_ZIP},
                            "note": "attribution note (license as stated in CUAD_v1_README.txt), written by fetch"},
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


def _complete_derivation(entry: dict[str, Any], path: Path) -> None:
    """Fill what a derivation pins from the mirror's copy: a note's text, the per-member hashes of an archive."""
    derive = entry.get("derive")
    if not derive:
        return
    if derive["kind"] == "text":
        derive["text"] = path.read_text(encoding="utf-8")
    elif derive["kind"] == "zip_members_to_tar_gz":
        from tasks.data_derive import tar_member_hashes

        derive["members"] = dict(sorted(tar_member_hashes(path).items()))


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
        entry.update(copy.deepcopy(spec["overrides"].get(rel, {})))
        _complete_derivation(entry, path)
        files.append(entry)
    keys = ("name", "title", "license", "repository", "commit", "url_base", "attribution")
    return {**{k: spec[k] for k in keys}, "files": files}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", type=Path, default=None,
                        help="folder laid out like the data root (default: the data root, $RFT_DATA_DIR)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if args.mirror is None:
        from tasks.data_root import data_root

        args.mirror = data_root()
    pins = {"version": 1, "sources": [pin_source(spec, args.mirror) for spec in SOURCES]}
    args.out.write_text(json.dumps(pins, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    for s in pins["sources"]:
        print(f"{s['name']:15} {len(s['files']):4} files {sum(f['size'] for f in s['files']):>12,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
