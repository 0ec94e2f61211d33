#!/usr/bin/env bash
# Configures (once) and builds orch with Ninja on the machine's cores. Argument: ninja targets
# (default: all). ORCH_BUILD_TYPE overrides the build type (default Release).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE="${ORCH_BUILD_TYPE:-Release}"
fi
cmake --build build -j "$jobs" --target "${@:-all}"
