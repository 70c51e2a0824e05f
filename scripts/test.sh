#!/usr/bin/env bash
# scripts/test.sh — the full test suite, as CI runs it (.ci/run calls this).
# Installs what it needs, validates the checklist definitions against their
# JSON Schema with ajv, lints the sync protocol's OpenAPI spec, then builds
# and runs every test three times:
#   gcc   -Wall -Wextra -Werror (RelWithDebInfo)
#   clang -Wall -Wextra -Werror
#   gcc with AddressSanitizer + UndefinedBehaviorSanitizer
# (each replays the fuzz corpora too), then builds the libFuzzer targets
# (clang, ASan+UBSan, tests/fuzz), replays their corpora and fuzzes each for
# FIC_FUZZ_SECONDS (default 20; docs/fuzzing.md); then the Java binding's
# tests on the host JVM (scripts/test-jvm.sh), and once more cross-built for
# arm64 and run under qemu-user (scripts/test-arm64.sh). After the gcc
# build, every JSON document the public API returns is validated against
# its schema in schema/api/ (scripts/check-api-json.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-deps.sh arm64 jvm android

jobs=$(nproc)
failed=()

echo "=== checklist definitions: JSON Schema (ajv, strict mode) and generated docs"
if bash scripts/npm-ci.sh &&
	tools/schema-check/node_modules/.bin/ajv validate --strict=true --all-errors \
		-s schema/checklist.schema.json -d "schema/checklists/*.json"; then
	:
else
	failed+=("checklist schema")
fi
python3 tools/docs/gen_checklists_md.py --check || failed+=("docs/checklists.md stale")
echo "=== sync protocol: OpenAPI 3 spec (Redocly lint)"
tools/schema-check/node_modules/.bin/redocly lint --format=stylish schema/protocol/openapi.yaml ||
	failed+=("openapi lint")

run_config() {
	local name=$1; shift
	echo "=== $name: configure and build"
	cmake -S . -B "build/$name" "$@" >/dev/null
	if ! cmake --build "build/$name" -j"$jobs" >"build/$name.log" 2>&1; then
		cat "build/$name.log"
		failed+=("$name (build)")
		return
	fi
	echo "=== $name: test"
	if ! (cd "build/$name" && ctest --output-on-failure -j"$jobs"); then
		failed+=("$name (tests)")
	fi
}

run_config gcc   -DCMAKE_C_COMPILER=gcc   -DCMAKE_BUILD_TYPE=RelWithDebInfo
bash scripts/check-api-json.sh build/gcc || failed+=("API JSON documents (schema/api)")
echo "=== the API's JSON documents against schema/api (ajv, strict mode)"
sh tests/tools/check_api_schemas.sh build/gcc/tools/fic tools/schema-check/node_modules/.bin/ajv ||
	failed+=("api schemas")
run_config clang -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	run_config asan -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=Debug -DFIC_SANITIZE=ON

fuzz_seconds=${FIC_FUZZ_SECONDS:-20}
run_config fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFIC_FUZZ=ON \
	-DFIC_BUILD_TESTS=OFF -DFIC_BUILD_BENCH=OFF -DFIC_BUILD_TOOLS=OFF -DFIC_FUZZ_SECONDS="$fuzz_seconds"
echo "=== fuzz: ${fuzz_seconds} s per target"
for log in build/fuzz/tests/fuzz/work/*/log; do
	[ -f "$log" ] || continue
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	printf '%-24s %10s runs %8s exec/s\n' "$(basename "$(dirname "$log")")" "${runs:-?}" "${rate:-?}"
done

echo "=== jvm: the Java binding on the host JVM (FIC_WITH_CURL=OFF, the Java transport)"
bash scripts/test-jvm.sh || failed+=("jvm")

echo "=== arm64 (cross-built, run under qemu-aarch64)"
bash scripts/test-arm64.sh || failed+=("arm64")

if [ ${#failed[@]} -gt 0 ]; then
	echo "FAILED: ${failed[*]}"
	exit 1
fi
echo "all configurations passed: gcc, clang, asan+ubsan, fuzz, jvm, arm64 under qemu"
