#!/usr/bin/env bash
# The whole test suite from a fresh Debian 12 machine: install what is missing, build everything
# with tests, and run CTest (unit, MPI and integration tests). Run as root. `.ci/run` calls this.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
bash scripts/build.sh all
ctest --test-dir build --output-on-failure -j2 --timeout 900
