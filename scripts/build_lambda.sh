#!/usr/bin/env bash
# Build the reward Lambda zip: exactly the reward path (invariant 2) and nothing else.
#   metrics/**/*.py        the shared metrics layer (standard library only; boto3 comes with the Lambda runtime)
#   reward_bundle.json     the resolved reward config + scorer spec + Reference text (rft-evals reward bundle)
# Handler: metrics.reward.lambda_handler.handler
#
# usage: scripts/build_lambda.sh [--reward NAME|PATH] [--task NAME|PATH] [--out build/reward_lambda.zip]
#   --task: contract_review | cuad_risks | nda_policy | unfair_tos | a config task's spec file (my_task.yaml)
#   --reward: default contract_review for contract_review, else conf/reward/<task kind>_deterministic.yaml
# Needs the project installed (the bundle step reads the task's playbook and the data root: $RFT_DATA_DIR).
set -euo pipefail

REWARD=""
TASK="contract_review"
OUT="build/reward_lambda.zip"
PYTHON="${PYTHON:-python}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --reward) REWARD="$2"; shift 2 ;;
    --task) TASK="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "build_lambda.sh: unknown argument $1 (use --reward, --task, --out)" >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STAGE="$(mktemp -d)"
trap 'rm -rf "$STAGE"' EXIT

if [[ -z "$REWARD" && "$TASK" == "contract_review" ]]; then REWARD="contract_review"; fi
REWARD_ARGS=()
if [[ -n "$REWARD" ]]; then REWARD_ARGS=(--reward "$REWARD"); fi
# a relative --task path is read from the caller's folder; names (conf/task/<name>.yaml) are kept as they are
if [[ -f "$TASK" ]]; then TASK="$(cd "$(dirname "$TASK")" && pwd)/$(basename "$TASK")"; fi
if [[ -f "$REWARD" ]]; then REWARD_ARGS=(--reward "$(cd "$(dirname "$REWARD")" && pwd)/$(basename "$REWARD")"); fi
OUT="$(mkdir -p "$(dirname "$OUT")" && cd "$(dirname "$OUT")" && pwd)/$(basename "$OUT")"

cd "$ROOT"
"$PYTHON" -m evals.cli reward bundle --task "$TASK" "${REWARD_ARGS[@]}" --out "$STAGE/reward_bundle.json"

# A deterministic zip (sorted entries, fixed timestamps): the same sources give the same bytes.
"$PYTHON" - "$ROOT" "$STAGE/reward_bundle.json" "$OUT" <<'PY'
import sys, zipfile
from pathlib import Path

root, bundle, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
files = sorted(p for p in (root / "metrics").rglob("*.py") if "__pycache__" not in p.parts)
out.parent.mkdir(parents=True, exist_ok=True)
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
    for path in files:
        info = zipfile.ZipInfo(str(path.relative_to(root)), date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        zf.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)
    info = zipfile.ZipInfo("reward_bundle.json", date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = 0o644 << 16
    zf.writestr(info, bundle.read_bytes(), zipfile.ZIP_DEFLATED)
print(f"{out}: {len(files) + 1} files, {out.stat().st_size} bytes; handler metrics.reward.lambda_handler.handler")
PY
