#!/bin/sh
# tests/tools/check_api_schemas.sh FIC AJV — every JSON document the API's new
# calls return, made by a short session of the fic tool, validated against its
# JSON Schema in schema/api/ (ajv, strict mode). Run by scripts/test.sh.
set -eu
FIC=$1
AJV=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/fic-api.XXXXXX")
trap 'rm -rf "$dir"' EXIT
db=$dir/store.db
f() { "$FIC" --db "$db" --actor 协管员 "$@"; }
j() { "$FIC" --db "$db" --actor 协管员 --json "$@"; }
day=$(date -u -d "+8 hours" +%F)

site=$(j site add --kind water_rural --name 石桥村供水站 --place-code https://cq.example/p/1 \
	--authority 青杠镇人民政府 | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
f site code add "$site" QG-1-SOUTH --label 南门 >/dev/null
j site code list "$site" >"$dir/site_codes.json"
j visit scan "https://CQ.example/p/1/" --lat 29.5 --lon 106.5 >"$dir/scan.json"
f lead new lead.tip_off --site "$site" --set source=visit --set subject=illegal_practice \
	--set place=集市 --set description=游医 --set time_sensitive=yes --set verified=yes >/dev/null
j tasks >"$dir/task_list.json"
j plan show >"$dir/patrol_plan.json"
f activity add publicity --date "$day" --topic 宣传 --people 30 --channel villages >/dev/null
f activity add case --date "$day" --topic 协助 --case X-1 >/dev/null
j activity list >"$dir/activity_list.json"
f sample add S-1 --site "$site" --point 出厂水 --received-by 刘工 >/dev/null
j sample list >"$dir/sample_list.json"
f sample result S-1 fail --on "$day" --detail 超标 >/dev/null
insp=$(j inspect start "$site" water.field_test --unannounced | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
for kv in sample_point=outlet disinfectant=free_chlorine colour_or_matter=no odour=no ph=7.1 residual=0.6; do
	f inspect answer "$insp" "${kv%%=*}" "${kv#*=}" >/dev/null
done
f inspect finish "$insp" >/dev/null
j water status >"$dir/water_status.json"
j notice due >"$dir/notices_due.json"
j stats >"$dir/stats.json"
j register patrols >"$dir/register_patrols.json"
j register reports >"$dir/register_reports.json"

status=0
for doc in site_codes scan task_list patrol_plan activity_list sample_list water_status notices_due stats; do
	"$AJV" validate --strict=true --all-errors -s "$root/schema/api/$doc.schema.json" -d "$dir/$doc.json" ||
		status=1
done
for doc in register_patrols register_reports; do
	"$AJV" validate --strict=true --all-errors -s "$root/schema/api/register.schema.json" \
		-d "$dir/$doc.json" || status=1
done
# The documents are not empty: a schema that accepts nothing checked nothing.
python3 - "$dir" <<'PY' || status=1
import json, sys, os
d = sys.argv[1]
def load(n): return json.load(open(os.path.join(d, n + ".json"), encoding="utf-8"))
assert len(load("site_codes")) == 2
assert len(load("task_list")) == 1
assert len(load("activity_list")) == 2
assert "result" not in load("sample_list")[0]  # listed before the laboratory's result
assert load("water_status")[0]["colour"] == "blue"  # the field test after the failed sample
assert load("register_patrols")["rows"][0]["visit_mode"] == "暗访"
assert len(load("notices_due")) == 1
assert load("stats")["indicators"]["cases_assisted"]["count"] == 1
assert len(load("register_reports")["rows"]) == 1
PY
exit $status
