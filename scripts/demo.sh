#!/usr/bin/env bash
# scripts/demo.sh — the main job: build fieldinspect and walk through a patrol
# day with the `fic` tool on a fresh store — sites found on the road, a field
# water test that fails, photo evidence, the inspection opinion, a school
# cluster reported under the two-hour rule, a tip-off that needs a
# re-inspection, and the due list; against the reference county server on
# loopback: enrolment, the registry downloaded, and the day's records and
# photos uploaded, urgent leads first. Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-deps.sh

echo "=== building (build/release)"
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DFIC_BUILD_TESTS=OFF -DFIC_BUILD_BENCH=OFF >/dev/null
cmake --build build/release -j"$(nproc)" --target fic fic-county-server >/dev/null
fic_bin=$PWD/build/release/tools/fic
server_bin=$PWD/build/release/server/fic-county-server

work=$(mktemp -d "${TMPDIR:-/tmp}/fic-demo.XXXXXX")
server_pid=
cleanup() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
export FIC_DB=$work/patrol.db FIC_ACTOR=协管员-张敏

step() { echo; echo "--- $1"; }
run() {
	printf '$ fic'
	for a in "$@"; do case "$a" in *" "*) printf " '%s'" "$a" ;; *) printf ' %s' "$a" ;; esac; done
	echo
	"$fic_bin" "$@"
}
q() { "$fic_bin" --json "$@"; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
# A photo-like JPEG, as the phone's camera would give (gradient + noise, via cjpeg).
photo() {
	python3 - "$1" <<'PY'
import random, sys
w, h = 1200, 900
random.seed(int(sys.argv[1][-5:-4], 36))
row = lambda y: bytes(v for x in range(w) for v in ((x * 255 // w + random.randrange(24)) & 255,
                                                   (y * 255 // h + random.randrange(24)) & 255, 128))
with open(sys.argv[1] + ".ppm", "wb") as f:
    f.write(b"P6 %d %d 255\n" % (w, h))
    for y in range(h):
        f.write(row(y))
PY
	cjpeg -quality 92 "$1.ppm" >"$1"
	rm -f "$1.ppm"
}

step "The county runs the reference server (here on loopback) and issues a one-time enrolment code"
"$server_bin" --db "$work/county.db" --listen 127.0.0.1:0 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 50); do grep -q "listening on port" "$work/server.log" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/.*listening on port \([0-9]*\).*/\1/p' "$work/server.log")
export FIC_SERVER=http://127.0.0.1:$port
# The county's first code makes its sealing key pair: the public half in the
# database (devices get it at enrolment), the private half only in
# county-keys/ (0600; in real life on the machine where leads are opened).
code=$("$server_bin" --db "$work/county.db" --keys "$work/county-keys" issue-code 青杠镇卫生监督协管站)
echo "server at $FIC_SERVER; enrolment code $code"

step "The county loads its site registry (本底), a revised checklist and a task for the devices to download"
cat >"$work/registry.json" <<'JSON'
[{"id": "cq-qg-sch-0001", "kind": "school", "name": "青杠镇中心小学", "school_level": "primary",
  "boarding": true, "enrolment": 640, "lat": 29.56480, "lon": 106.55020, "address": "青杠镇正街 18 号"},
 {"id": "cq-qg-mkt-0001", "kind": "other_venue", "venue_type": "market", "name": "青杠场镇集贸市场"},
 {"id": "cq-qg-med-0007", "kind": "medical", "name": "青杠镇卫生院", "med_registration": "licensed",
  "institution_type": "other", "beds": 40}]
JSON
python3 - "$work/checklists.json" <<'PY'
import json, sys
d = json.load(open("schema/checklists/venue.other.json", encoding="utf-8"))
d["version"] += 1  # the county's revision of the other-venues checklist
json.dump([d], open(sys.argv[1], "w", encoding="utf-8"), ensure_ascii=False)
PY
"$server_bin" --db "$work/county.db" load sites 青杠镇卫生监督协管站 "$work/registry.json"
"$server_bin" --db "$work/county.db" load checklists 青杠镇卫生监督协管站 "$work/checklists.json"
cat >"$work/tasks.json" <<'JSON'
[{"id": "qg-task-2026-031", "kind": "reinspection", "site_id": "cq-qg-med-0007",
  "due_date": "2026-12-15", "detail": "执法大队交办：复查卫生院医疗废物暂存点整改情况"}]
JSON
"$server_bin" --db "$work/county.db" load tasks 青杠镇卫生监督协管站 "$work/tasks.json"

step "A fresh store on the inspector's phone, enrolled with the county, downloads the registry; this semester began on 2026-09-01"
run init
run enroll "$code" --name 张敏的手机
run sync
run setting set semester_starts 2026-02-23,2026-09-01
run site list
run checklist list --kind other_venue

step "On the route: a rural water plant missing from the county registry (新建本底)"
run site add --kind water_rural --name "青杠镇石桥村集中供水站" --address "青杠镇石桥村 4 组" \
	--credit-code 91350100M000100Y43 --licence-no "渝卫水证字〔2023〕第 021 号" \
	--valid-from 2023-05-01 --valid-to 2027-04-30 --lat 29.56310 --lon 106.55160 \
	--place-code "https://cq.example/place/QG-0421" --reason "巡查路线发现，本底无此供水站"
plant=$(q site find --place-code "https://cq.example/place/QG-0421" | field '["id"]')
school=cq-qg-sch-0001
market=cq-qg-mkt-0001
run site list --near 29.5630,106.5516 --radius 500

step "Which checklists fit a rural water plant?"
run checklist list --kind water_rural

step "A field water test at the plant outlet (饮用水 4): pH 9.8 and chlorine 0.2 mg/L"
insp=$(q inspect start "$plant" water.field_test | field '["id"]')
echo "inspection $insp (supply type prefilled from the registry: rural)"
for kv in sample_point=outlet disinfectant=free_chlorine colour_or_matter=no odour=no ph=9.8 residual=0.2; do
	"$fic_bin" inspect answer "$insp" "${kv%%=*}" "${kv#*=}" >/dev/null
done
run inspect answer "$insp" ph 15 || true
run inspect note "$insp" ph "试纸比色，读数约 9.8"
run inspect show "$insp"
run inspect finish "$insp" || true

step "Photograph both test results, then finish: the abnormal items go to the agency by themselves"
photo "$work/ph.jpg"
photo "$work/cl.jpg"
run photo add --inspection "$insp" --item ph "$work/ph.jpg"
run photo add --inspection "$insp" --item residual "$work/cl.jpg"
run inspect finish "$insp"
run inspect opinion "$insp"

step "The school reports sick pupils in one class: 2, 2 and 1 new cases on three days (学校卫生 三(二)4)"
run lead new event.school_cluster --site "$school" --set unit_type=class --set unit_name=三年级二班 \
	--set first_date=2026-11-21 --set daily_cases=2,2,1 --set symptoms=vomiting,diarrhoea \
	--set similar_symptoms=yes --set shared_meal_or_water=no --set verified=yes

step "A 12345 hotline tip-off: a street 'dentist' at the market (re-inspect within a month); the informant's name and phone are sealed to the county's key when it is submitted"
run lead new lead.tip_off --site "$market" --set source=hotline_12345 --set subject_area=medical_blood \
	--set place=集贸市场东口 --set description=流动摊点拔牙镶牙 --set time_sensitive=yes --set verified=yes \
	--set informant_name=王秀兰 --set informant_phone=13908231174

step "Leads, most pressing first, with the two-hour clock"
run lead list
run tasks

step "What is due: two patrols a year per area, schools in the first month of the semester"
run due
run stats

step "Evidence: every hash and the chain verify; trusted time (from the server's clock at the last sync)"
run evidence verify
run time

step "Everything is audited (who, what, when) and queued for upload to the county"
run audit --limit 5
run status

step "Back in signal: sync. Urgent leads first, in a request of their own; then the other records; then photos"
run sync
run status

step "On the phone, each lead now says the county has it, with the server's receipt time (no more at-risk warning)"
run lead list
echo "the county server now holds $("$server_bin" --db "$work/county.db" count) records:" \
	"$("$server_bin" --db "$work/county.db" count lead) leads," \
	"$("$server_bin" --db "$work/county.db" count inspection) inspection," \
	"$("$server_bin" --db "$work/county.db" count site) site changes," \
	"$("$server_bin" --db "$work/county.db" count photo) photo records," \
	"$("$server_bin" --db "$work/county.db" count audit) audit-log entries"
echo '$ fic-county-server --db county.db photos'
"$server_bin" --db "$work/county.db" photos
echo '$ fic-county-server --db county.db chain'
"$server_bin" --db "$work/county.db" chain
echo "the county's two-hour audit: each lead's receipt, urgent ones against their deadline:"
echo '$ fic-county-server --db county.db leads'
"$server_bin" --db "$work/county.db" leads
echo
echo "the phone and the server hold the informant's phone only sealed:"
for f in "$FIC_DB" "$FIC_DB-wal" "$work/county.db" "$work/county.db-wal"; do
	[ -e "$f" ] && { grep -c 13908231174 "$f" >/dev/null && echo "  FOUND in $f" || echo "  not in $(basename "$f")"; }
done
echo "only the county's private key opens it (offline, from the database):"
echo '$ fic-county-server --db county.db --keys county-keys open'
"$server_bin" --db "$work/county.db" --keys "$work/county-keys" open 2>/dev/null |
	python3 -c "
import json, sys
for line in sys.stdin:
    o = json.loads(line)
    a = o['lead']['content'].get('answers', {})
    if o['opened']:
        print('  lead %s: opened %s -> %s %s' % (o['id'][:8], ','.join(o['opened']), a.get('informant_name'), a.get('informant_phone')))"
echo
echo "demo store was $FIC_DB (removed on exit)"
