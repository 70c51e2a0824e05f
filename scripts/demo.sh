#!/usr/bin/env bash
# scripts/demo.sh — the main job: build fieldinspect and walk through a
# co-inspector's year with the `fic` tool on a fresh store (docs/workflow.md):
# the county's registry, semesters and patrol plan downloaded; a site found
# on the road, its authority told; its place code scanned at the gate as
# proof of presence; a failing field test with photo evidence and the
# inspection opinion; a water sample whose laboratory result comes later; a
# supply published blue whose test fails; a school found closed; a school
# cluster and a routed 12345 tip-off under the two-hour rule; the foodborne
# report's call to the CDC; re-inspection tasks opened and closed; an MCH
# patrol of a hospital; publicity, training and a case; the due list, the
# four indicators, the registers printed — against the reference county
# server on loopback. Installs what it needs first.
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
# The store's calendar is China Standard Time (UTC+8, its default), whatever this machine's zone.
cst() { date -u -d "+8 hours $*" "+%Y-%m-%d %H:%M"; }
today=$(date -u -d "+8 hours" +%F)
month=${today%-*}
year=${today%%-*}
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

step "The county loads its site registry (本底), its settings (semesters, the patrol plan), a revised checklist and a task"
cat >"$work/registry.json" <<'JSON'
[{"id": "cq-qg-sch-0001", "kind": "school", "name": "青杠镇中心小学", "school_level": "primary",
  "boarding": true, "enrolment": 640, "lat": 29.56480, "lon": 106.55020, "address": "青杠镇正街 18 号",
  "authority": "区教育委员会"},
 {"id": "cq-qg-sch-0002", "kind": "school", "name": "石桥村小学", "school_level": "primary",
  "boarding": false, "enrolment": 86, "address": "青杠镇石桥村 2 组", "authority": "区教育委员会"},
 {"id": "cq-qg-mkt-0001", "kind": "other_venue", "venue_type": "market", "name": "青杠场镇集贸市场"},
 {"id": "cq-qg-med-0007", "kind": "medical", "name": "青杠镇卫生院", "med_registration": "licensed",
  "institution_type": "other", "beds": 40, "legal_rep": "李明", "address": "青杠镇正街 32 号",
  "place_code": "https://cq.example/place/QG-MED-0007", "areas": ["mch"]},
 {"id": "cq-qg-wat-0002", "kind": "water_secondary", "name": "锦绣小区二次供水", "water_status": "blue",
  "address": "青杠镇锦绣路 1 号", "authority": "青杠镇人民政府"}]
JSON
cat >"$work/settings.json" <<JSON
[{"id": "semester_starts", "value": "$year-02-23,$year-09-01"},
 {"id": "patrol_plan", "value": {"areas": {"drinking_water": {"kinds": {"water_secondary": 4}},
   "other.public_place": {"title": "公共场所卫生", "per_year": 1, "kinds": {"other_venue": 1}}}}}]
JSON
python3 - "$work/checklists.json" <<'PY'
import json, sys
d = json.load(open("schema/checklists/venue.other.json", encoding="utf-8"))
d["version"] += 1  # the county's revision of the other-venues checklist
json.dump([d], open(sys.argv[1], "w", encoding="utf-8"), ensure_ascii=False)
PY
"$server_bin" --db "$work/county.db" load sites 青杠镇卫生监督协管站 "$work/registry.json"
"$server_bin" --db "$work/county.db" load settings 青杠镇卫生监督协管站 "$work/settings.json"
"$server_bin" --db "$work/county.db" load checklists 青杠镇卫生监督协管站 "$work/checklists.json"
cat >"$work/tasks.json" <<'JSON'
[{"id": "qg-task-2026-031", "kind": "reinspection", "site_id": "cq-qg-med-0007",
  "due_date": "2026-12-15", "detail": "执法大队交办：复查卫生院超范围执业整改情况（非法行医 3.4.2）"}]
JSON
"$server_bin" --db "$work/county.db" load tasks 青杠镇卫生监督协管站 "$work/tasks.json"

step "A fresh store on the inspector's phone, enrolled with the county, downloads the registry, the semesters and the patrol plan"
run init
run enroll "$code" --name 张敏的手机
run sync
run setting get semester_starts
run setting set semester_starts 2026-03-01 || echo "(the semesters are the county's: not typed by hand)"
run plan show
run site list

step "On the route: a rural water plant missing from the county registry (新建本底), its authority told (饮用水 三(二)3)"
run site add --kind water_rural --name "青杠镇石桥村集中供水站" --address "青杠镇石桥村 4 组" \
	--credit-code 91350100M000100Y43 --licence-no "渝卫水证字〔2023〕第 021 号" \
	--valid-from 2023-05-01 --valid-to 2027-04-30 --lat 29.56310 --lon 106.55160 \
	--place-code "https://cq.example/place/QG-0421" --authority "青杠镇人民政府" \
	--reason "巡查路线发现，本底无此供水站"
plant=$(q site find --place-code "https://cq.example/place/QG-0421" | field '["id"]')
school=cq-qg-sch-0001
market=cq-qg-mkt-0001
hospital=cq-qg-med-0007
tanks=cq-qg-wat-0002
run site code add "$plant" "QG-0421-SOUTH" --label 南门
run notice due
run notice add "$plant" new_site --method phone --note "已电话告知镇水务站"

step "At the plant's gate: scan the place code (spaced as another phone reads it) — proof of presence — and start an unannounced field test"
scan=$(q visit scan "  HTTPS://CQ.Example/place/QG-0421/ " --lat 29.56312 --lon 106.55158 --accuracy 6 | field '["scan_id"]')
echo "scan $scan chained as proof of presence"
insp=$(q inspect start "$plant" water.field_test --scan "$scan" --unannounced | field '["id"]')
echo "inspection $insp (supply type prefilled from the registry: rural)"
for kv in sample_point=outlet disinfectant=free_chlorine colour_or_matter=no odour=no ph=9.8 residual=0.2; do
	"$fic_bin" inspect answer "$insp" "${kv%%=*}" "${kv#*=}" >/dev/null
done
run inspect note "$insp" ph "试纸比色，读数约 9.8"
run inspect finish "$insp" || true

step "Photograph both test results, then finish: the abnormal items go to the agency by themselves"
photo "$work/ph.jpg"
photo "$work/cl.jpg"
run photo add --inspection "$insp" --item ph "$work/ph.jpg"
run photo add --inspection "$insp" --item residual "$work/cl.jpg"
run inspect finish "$insp"
run inspect opinion "$insp"

step "A water sample taken with the agency (协助开展饮用水水质抽检): its number, point, who took and received it"
run sample add QG-W-$year-031 --site "$plant" --point 出厂水 --received-by "区疾控中心检验科 刘工"

step "A secondary supply the county publishes blue (seed 000): today's test fails — flagged"
insp2=$(q inspect start "$tanks" water.field_test --announced | field '["id"]')
for kv in sample_point=tap disinfectant=free_chlorine colour_or_matter=no odour=no ph=8.9 residual=0.3; do
	"$fic_bin" inspect answer "$insp2" "${kv%%=*}" "${kv#*=}" >/dev/null
done
photo "$work/ph2.jpg"
"$fic_bin" photo add --inspection "$insp2" --item ph "$work/ph2.jpg" >/dev/null
run --json inspect finish "$insp2"
run water status

step "A village school found closed (学校卫生 三(二)2): nothing left to check, but not without the proof photo"
closed=$(q inspect start cq-qg-sch-0002 school.disease_control | field '["id"]')
run inspect site "$closed" closed --reason "现场核实已撤并至中心校，校舍闲置"
run inspect finish "$closed" || true
photo "$work/gate.jpg"
run photo add --inspection "$closed" "$work/gate.jpg"
run inspect finish "$closed"

step "The school reports sick pupils in one class: 2, 2 and 1 new cases on three days (学校卫生 三(二)4)"
run lead new event.school_cluster --site "$school" --set unit_type=class --set unit_name=三年级二班 \
	--set first_date=$today --set daily_cases=2,2,1 --set symptoms=vomiting,diarrhoea \
	--set similar_symptoms=yes --set shared_meal_or_water=no --set verified=yes

step "A 12345 tip-off about 两非, received 40 minutes ago: routed to the two-hour rule (妇幼健康 三(二)3), clock from receipt; the informant's name and phone are sealed to the county's key when it is submitted"
run lead new lead.tip_off --set source=hotline_12345 --set ticket_12345=QG-${today//-/}-0173 \
	--set subject=two_non --set place=镇东私人诊所 --set description=群众反映可做B超鉴定胎儿性别 \
	--set informant_name=王秀兰 --set informant_phone=13908231174 \
	--set verified=no --received "$(cst -40 minutes)"

step "A foodborne report (食源性疾病 三(二)): its duty is the phone call to the district CDC, recorded apart from the upload"
food=$(q lead new event.foodborne --set report_source=primary_care --set diagnosis=bacillary_dysentery \
	--set onset_date=$today --set meal_place=镇中心饭店 --set meal_unit=李家婚宴 \
	--set contact_phone=13800000000 --set exposed=120 --set ill=14 --set dead=0 --set suspected_food=凉拌菜 \
	--set symptoms=vomiting,diarrhoea --set measures_taken=已送镇卫生院 --set verified=yes | field '["id"]')
run lead call "$food" --method phone --to "区疾控中心值班室 王医生 023-7000000"

step "A street 'dentist' at the market, found on patrol: a one-month re-inspection task (非法行医 3.4.1)"
stall=$(q inspect start "$market" venue.other | field '["id"]')
for kv in medical_activity=yes practitioners_qualified=no illegal_blood=no illegal_equipment=yes other_violation=no; do
	"$fic_bin" inspect answer "$stall" "${kv%%=*}" "${kv#*=}" >/dev/null
done
for item in medical_activity practitioners_qualified illegal_equipment; do
	photo "$work/$item.jpg"
	"$fic_bin" photo add --inspection "$stall" --item "$item" "$work/$item.jpg" >/dev/null
done
run inspect finish "$stall"
run tasks

step "Back at the market within the month: the re-inspection closes the task; the hospital's assigned task closes too (3.4.2)"
stall_lead=$(q lead list | python3 -c "import json,sys; print([l['id'] for l in json.load(sys.stdin) if l['category']=='patrol_finding' and '集贸市场' in l['title']][0])")
re=$(q inspect start "$market" medical.reinspection | field '["id"]')
"$fic_bin" inspect answer "$re" reason time_sensitive_lead >/dev/null
"$fic_bin" inspect answer "$re" original_lead "$stall_lead" >/dev/null
run inspect answer "$re" same_violation_again no
run inspect finish "$re"
hre=$(q inspect start "$hospital" medical.reinspection --announced | field '["id"]')
"$fic_bin" inspect answer "$hre" reason agency_task >/dev/null
"$fic_bin" inspect answer "$hre" original_lead qg-task-2026-031 >/dev/null
"$fic_bin" inspect answer "$hre" violation_persists no >/dev/null
run inspect finish "$hre"
run tasks

step "The hospital's MCH services patrolled: on the MCH line of the due list (妇幼健康 三(一)1)"
mch=$(q inspect start "$hospital" mch.patrol | field '["id"]')
for kv in mch_licence_held=yes obstetrics_approved=yes within_approved_scope=yes staff_certified=yes two_non_found=no two_non_sign=yes; do
	"$fic_bin" inspect answer "$mch" "${kv%%=*}" "${kv#*=}" >/dev/null
done
run inspect finish "$mch"

step "Publicity (普法五进), training and a case assisted: indicators 3 and 4 (实施方案 一(三)3-4)"
photo "$work/hall.jpg"
run activity add publicity --date "$today" --topic 打击非法行医及非法采供血宣传 --place 石桥村村委会 \
	--audience 村民 --people 86 --channel villages --format 讲座、发放资料 --area medical_blood --photo "$work/hall.jpg"
run activity add training --date "$today" --topic 农村供水从业人员卫生知识培训 --audience 供水单位从业人员 \
	--people 23 --area drinking_water
run activity add case --date "$today" --topic 协助查处集市游医案 --case "渝卫执罚〔$year〕12号" --area medical_blood
run activity list

step "Leads, most pressing first, with the two-hour clock (and the call that met the foodborne duty)"
run lead list
run tasks

step "What is due: the county's plan per area and kind, schools in the first month of the semester"
run due
run stats

step "Sync; weeks later the county sends the sample's laboratory result, and the next sync attaches it"
run sync
cat >"$work/lab.json" <<JSON
[{"id": "QG-W-$year-031", "passed": false, "reported_on": "$today",
  "detail": "菌落总数 180 CFU/mL，超出 GB 5749 限值"}]
JSON
"$server_bin" --db "$work/county.db" load lab_results 青杠镇卫生监督协管站 "$work/lab.json"
run sync
run sample list
run water status --csv

step "The registers: the patrol register printed (HTML, A4), the report register as CSV"
run inspect list --month "$month"
run register patrols --month "$month" --html --out "$work/巡查登记表.html"
head -c 600 "$work/巡查登记表.html"; echo " …"
run register reports --month "$month" --csv --out "$work/信息报告登记表.csv"
head -3 "$work/信息报告登记表.csv"

step "Evidence: every hash and the chain verify; trusted time (from the server's clock at the last sync)"
run evidence verify
run time

step "Everything is audited (who, what, when) and queued for upload to the county"
run audit --limit 5
run status

step "Everything reached the county: urgent leads first, in requests of their own; then the other records; then photos"
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
        print('  lead %s: opened %s' % (o['id'][:8], ', '.join('%s = %s' % (k, a.get(k)) for k in o['opened'])))"
echo
echo "demo store was $FIC_DB (removed on exit)"
