#!/usr/bin/env bash
# scripts/check-api-json.sh — every JSON document the public API returns is
# what its JSON Schema (schema/api/, docs/api.md "JSON documents") says.
#
#   bash scripts/check-api-json.sh [BUILD_DIR]      (default build/gcc)
#
# Runs BUILD_DIR/tests/api_json_dump, which builds a realistic store through
# the public API and writes each document as <name>[.<variant>].json, and
# validates every one with ajv in strict mode against
# schema/api/<name>.schema.json (schema/checklist.schema.json for
# "checklist"). Fails when a document does not validate, when a document has
# no schema or a schema no document, and when a hand-broken document
# (tests/tools/api_json_break.py: a renamed field, a misspelt state, a
# missing or mistyped field…) is NOT refused. scripts/test.sh runs it after
# the gcc build; it needs tools/schema-check's node modules (npm ci).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/gcc}
ajv=tools/schema-check/node_modules/.bin/ajv
dump=$build/tests/api_json_dump
[ -x "$ajv" ] || bash scripts/npm-ci.sh
[ -x "$dump" ] || { echo "check-api-json: no $dump (build first)"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/fic-api-json.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$dump" "$work/docs" >/dev/null
failed=0

schema_of() { # NAME -> its schema file
	if [ "$1" = checklist ]; then echo schema/checklist.schema.json; else echo "schema/api/$1.schema.json"; fi
}
refs_for() { # SCHEMA -> -r for every other schema it may refer to
	local f
	for f in schema/checklist.schema.json schema/api/*.schema.json; do
		[ "$f" = "$1" ] || printf -- '-r\n%s\n' "$f"
	done
}
validate() { # SCHEMA FILE... -> ajv's verdict, quietly unless it fails
	local schema=$1 out
	shift
	local args=()
	mapfile -t args < <(refs_for "$schema")
	local data=()
	for f in "$@"; do data+=(-d "$f"); done
	out=$("$ajv" validate --strict=true --all-errors --errors=text -s "$schema" "${args[@]}" \
		"${data[@]}" 2>&1) && return 0
	printf '%s\n' "$out" | grep -v ' valid$' | head -40
	return 1
}

echo "=== API JSON documents: every document against its schema (ajv, strict mode)"
names=$(cd "$work/docs" && ls | sed 's/\..*//' | sort -u)
for name in $names; do
	schema=$(schema_of "$name")
	if [ ! -f "$schema" ]; then
		echo "FAIL: $name.*.json: no schema $schema"
		failed=1
		continue
	fi
	files=("$work/docs/$name".*json)
	if validate "$schema" "${files[@]}"; then
		echo "ok: $schema: ${#files[@]} document(s)"
	else
		echo "FAIL: $schema"
		failed=1
	fi
done
for schema in schema/api/*.schema.json; do
	name=$(basename "$schema" .schema.json)
	[ "$name" = defs ] && continue
	printf '%s\n' $names | grep -qx "$name" || { echo "FAIL: $schema: no document checked"; failed=1; }
done

echo "=== API JSON documents: hand-broken ones are refused"
python3 tests/tools/api_json_break.py "$work/docs" "$work/broken" >"$work/broken.txt"
while IFS=$'\t' read -r file what; do
	name=${file%%.*}
	if validate "$(schema_of "$name")" "$work/broken/$file" >/dev/null; then
		echo "FAIL: $file ($what) was accepted"
		failed=1
	else
		echo "refused: $file ($what)"
	fi
done <"$work/broken.txt"

if [ "$failed" -ne 0 ]; then
	echo "API JSON documents: FAILED"
	exit 1
fi
echo "API JSON documents: every document valid, every broken one refused"
