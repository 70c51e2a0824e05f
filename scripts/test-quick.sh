#!/usr/bin/env bash
# scripts/test-quick.sh — the edit loop: build with gcc (-Werror) and run the
# unit tests only (`ctest -L unit`: no server, no benchmarks; seconds).
# Extra arguments go to ctest, e.g. `-R test_site` or `--output-on-failure`.
# The full suite, as CI runs it, is scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-deps.sh
cmake -S . -B build/quick -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/quick -j"$(nproc)" >/dev/null
cd build/quick && ctest -L unit -j"$(nproc)" --output-on-failure "$@"
