#!/usr/bin/env bash
# The main job from a fresh Debian 12 machine: install what is missing, build orch, and run every
# table of experiments/all_tables.yaml on the built-in phantom data. Run as root from the
# repository root (or anywhere: it changes there). Extra arguments go to `orch run`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
bash scripts/build.sh orch
./build/orchestrator/orch run experiments/all_tables.yaml "$@"
echo "--- runs/all_tables/report.md (open runs/all_tables/report.html in a browser) ---"
cat runs/all_tables/report.md
