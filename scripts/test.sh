#!/usr/bin/env bash
# scripts/test.sh — the full test suite, as CI runs it (.ci/run calls this).
# Installs what it needs, validates the checklist definitions against their
# JSON Schema with ajv, lints the sync protocol's OpenAPI spec, then builds
# and runs every test three times:
#   gcc   -Wall -Wextra -Werror (RelWithDebInfo)
#   clang -Wall -Wextra -Werror
#   gcc with AddressSanitizer + UndefinedBehaviorSanitizer
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-deps.sh

jobs=$(nproc)
failed=()

echo "=== checklist definitions: JSON Schema (ajv, strict mode) and generated docs"
if (cd tools/schema-check && npm ci --no-audit --no-fund --loglevel=error >/dev/null) &&
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
echo "=== the API's JSON documents against schema/api (ajv, strict mode)"
sh tests/tools/check_api_schemas.sh build/gcc/tools/fic tools/schema-check/node_modules/.bin/ajv ||
	failed+=("api schemas")
run_config clang -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	run_config asan -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=Debug -DFIC_SANITIZE=ON

if [ ${#failed[@]} -gt 0 ]; then
	echo "FAILED: ${failed[*]}"
	exit 1
fi
echo "all configurations passed: gcc, clang, asan+ubsan"
