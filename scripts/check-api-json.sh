#!/usr/bin/env bash
# scripts/check-api-json.sh — every JSON document the public API returns is
# what its JSON Schema (schema/api/, docs/api.md "JSON documents") says.
#
#   bash scripts/check-api-json.sh [BUILD_DIR]      (default build/gcc)
#
# Runs BUILD_DIR/tests/api_json_dump, which builds a realistic store through
# the public API (checking on the way that its documents are not empty where
# the store is not) and writes each document as <name>[.<variant>].json, and
# validates every one with ajv in strict mode against
# schema/api/<name>.schema.json (schema/checklist.schema.json for
# "checklist"). Each audit entry is also checked as {action, detail} against
# its action's own shape (audit_detail.schema.json#/definitions/entry).
# Fails when a document does not validate, when a document has no schema, a
# schema no document or an audit action no entry, and when a hand-broken
# document (tests/tools/api_json_break.py: a renamed field, a misspelt
# state, a missing or mistyped field, a rule of the document's state
# broken…) is NOT refused — or is refused for another reason than the one
# it was broken for (ajv's error must name it). scripts/test.sh runs it after
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

# Each audit entry as {action, detail} (audit_entry.<action>.<seq>.json,
# from audit_detail.<action>.<seq>.json), checked by a schema that is
# audit_detail.schema.json's definitions/entry; and the actions that
# schema names without an entry to show them.
python3 - "$work/docs" "$work/audit_entry.schema.json" <<'PY' || failed=1
import glob, json, os, sys
docs, wrapper = sys.argv[1], sys.argv[2]
seen = set()
for path in sorted(glob.glob(os.path.join(docs, "audit_detail.*.json"))):
    action = os.path.basename(path)[len("audit_detail."):].rsplit(".", 2)[0]
    seen.add(action)
    with open(path, encoding="utf-8") as f:
        entry = {"action": action, "detail": json.load(f)}
    name = "audit_entry." + os.path.basename(path)[len("audit_detail."):]
    with open(os.path.join(docs, name), "w", encoding="utf-8") as f:
        json.dump(entry, f, ensure_ascii=False)
with open(wrapper, "w", encoding="utf-8") as f:
    json.dump({"$schema": "http://json-schema.org/draft-07/schema#",
               "$id": "https://fieldinspect.invalid/schema/api/audit_entry.check.json",
               "$ref": "audit_detail.schema.json#/definitions/entry"}, f)
with open("schema/api/audit_detail.schema.json", encoding="utf-8") as f:
    named = set(json.load(f)["definitions"]["action"]["enum"])
missing = sorted(named - seen)
for a in missing:
    print("FAIL: audit action %s: no entry checked" % a)
sys.exit(1 if missing else 0)
PY

schema_of() { # NAME -> its schema file
	case $1 in
	checklist) echo schema/checklist.schema.json ;;
	audit_entry) echo "$work/audit_entry.schema.json" ;;
	*) echo "schema/api/$1.schema.json" ;;
	esac
}
refs_for() { # SCHEMA -> -r for every other schema it may refer to
	local f
	for f in schema/checklist.schema.json schema/api/*.schema.json; do
		[ "$f" = "$1" ] || printf -- '-r\n%s\n' "$f"
	done
}
validate() { # SCHEMA FILE... -> ajv's verdict on stdout: nothing when every file is valid
	local schema=$1 out
	shift
	local args=()
	mapfile -t args < <(refs_for "$schema")
	local data=()
	for f in "$@"; do data+=(-d "$f"); done
	out=$("$ajv" validate --strict=true --all-errors --errors=text -s "$schema" "${args[@]}" \
		"${data[@]}" 2>&1) && return 0
	printf '%s\n' "$out" | grep -Ev '^[^ ]+ valid$' | head -40 # (an error may end in " valid")
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
		echo "ok: ${schema#"$work/"}: ${#files[@]} document(s)"
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

echo "=== API JSON documents: hand-broken ones are refused, each for the reason it was broken for"
python3 tests/tools/api_json_break.py "$work/docs" "$work/broken" >"$work/broken.txt"
while IFS=$'\t' read -r file what reason; do
	name=${file%%.*}
	if verdict=$(validate "$(schema_of "$name")" "$work/broken/$file"); then
		echo "FAIL: $file ($what) was accepted"
		failed=1
	elif ! grep -qF -- "$reason" <<<"$verdict"; then
		echo "FAIL: $file ($what) was refused, but not because $reason:"
		printf '%s\n' "$verdict" | sed 's/^/    /'
		failed=1
	else
		echo "refused: $file ($what): $reason"
	fi
done <"$work/broken.txt"

if [ "$failed" -ne 0 ]; then
	echo "API JSON documents: FAILED"
	exit 1
fi
echo "API JSON documents: every document valid, every broken one refused for its reason"
