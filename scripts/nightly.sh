#!/usr/bin/env bash
# Run a nightly suite and propagate its exit code to the scheduler (cron, CI):
#   0 no regression (or no baseline yet), 1 the gate found a regression, 2 a run could not finish or the
#   input is wrong, 3 an internal error.
# Usage: scripts/nightly.sh [SUITE] [HYDRA OVERRIDES...]
#   scripts/nightly.sh local
#   scripts/nightly.sh nightly tracking=server tracking.uri="$MLFLOW_TRACKING_URI"
# Environment: RFT_VENV (default: <repo>/.venv), RFT_NIGHTLY_DIR (default: <repo>/runs/nightly), and what the
# suite needs (AWS credentials, RFT_NOVA_SFT_MODEL_ARN / RFT_NOVA_RFT_MODEL_ARN, MLFLOW_TRACKING_URI, ...).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
suite="${1:-local}"
if [[ $# -gt 0 ]]; then shift; fi

venv="${RFT_VENV:-$repo/.venv}"
if [[ -f "$venv/bin/activate" ]]; then
  # shellcheck disable=SC1091
  . "$venv/bin/activate"
fi

stamp="$(date -u +%Y-%m-%dT%H-%M-%SZ)"
out="${RFT_NIGHTLY_DIR:-$repo/runs/nightly}/$suite/$stamp"
mkdir -p "$out"
cd "$repo"

# `|| status=$?` keeps set -e from ending the script before the code is reported and returned.
status=0
rft-evals nightly "suite=$suite" "hydra.run.dir=$out" "$@" 2>&1 | tee "$out/console.log" || status=${PIPESTATUS[0]}

# A stable path for CI artifact steps and for people: the latest run of this suite.
ln -sfn "$out" "${RFT_NIGHTLY_DIR:-$repo/runs/nightly}/$suite/latest"
case "$status" in
  0) echo "nightly $suite: no regression ($out)" ;;
  1) echo "nightly $suite: REGRESSION, see $out/report/report.html" >&2 ;;
  *) echo "nightly $suite: failed with exit code $status, see $out/console.log" >&2 ;;
esac
exit "$status"
