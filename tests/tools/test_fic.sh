#!/bin/sh
# tests/tools/test_fic.sh — the fic tool end to end on a fresh store: every
# site command in readable and --json form, and bad usage getting a usage
# message with exit status 2, refused input exit status 1.
set -u
FIC=$1
SRC=${2:-}   # the source tree: the SMS format's data and the reference decoder
dir=$(mktemp -d "${TMPDIR:-/tmp}/fic-tool.XXXXXX")
trap 'rm -rf "$dir"' EXIT
db="$dir/store.db"
failures=0
checks=0

pass() { checks=$((checks + 1)); }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL: $*"; }

# expect STATUS PATTERN -- command...: exit status and a pattern in stdout+stderr
expect() {
	want=$1; pattern=$2; shift 3
	out=$("$@" 2>&1); got=$?
	if [ "$got" -ne "$want" ]; then
		fail "'$*' exited $got, wanted $want: $out"
	elif ! printf '%s' "$out" | grep -q -- "$pattern"; then
		fail "'$*' output lacks '$pattern': $out"
	else
		pass
	fi
}

json_field() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

expect 0 "schema 6" -- "$FIC" --db "$db" init
expect 0 '"device_id"' -- "$FIC" --db "$db" --json init

out=$("$FIC" --db "$db" --actor 协管员 --json site add --kind water_rural --name "青杠镇水厂" \
	--address "青杠镇河边路 1 号" --credit-code 91350100M000100Y43 --licence-no "渝卫水〔2024〕12号" \
	--valid-from 2024-01-01 --valid-to 2027-12-31 --lat 29.5 --lon 106.5 \
	--place-code "https://cq.example/p/1" --reason "本底缺失")
[ $? -eq 0 ] && pass || fail "site add --json"
plant=$(printf '%s' "$out" | json_field 'd["id"]')
[ "$(printf '%s' "$out" | json_field 'd["kind"]')" = water_rural ] && pass || fail "kind in json"
[ "$(printf '%s' "$out" | json_field 'd["origin"]')" = field ] && pass || fail "origin in json"

expect 0 "added site" -- "$FIC" --db "$db" site add --kind school --name "青杠镇中心小学" \
	--school-level primary --boarding yes --enrolment 640 --lat 29.501 --lon 106.5
expect 0 "added site" -- "$FIC" --db "$db" site add --kind medical --name "某诊所" \
	--registration filed --institution-type clinic --beds 0
expect 0 "added site" -- "$FIC" --db "$db" site add --kind employer --name "某煤矿" \
	--industry coal_mine --hazard severe

expect 0 "青杠镇水厂" -- "$FIC" --db "$db" site show "$plant"
expect 0 "农村集中式供水" -- "$FIC" --db "$db" site show "$plant"
expect 0 "$plant" -- "$FIC" --db "$db" site find --credit-code 91350100M000100Y43
expect 0 "$plant" -- "$FIC" --db "$db" site find --place-code "https://cq.example/p/1"
expect 0 "4 sites" -- "$FIC" --db "$db" site list
expect 0 "1 site$" -- "$FIC" --db "$db" site list --kind school
expect 0 "2 sites" -- "$FIC" --db "$db" site list --name 青杠
expect 0 "(111 m)" -- "$FIC" --db "$db" site list --near 29.501,106.5 --radius 500
n=$("$FIC" --db "$db" --json site list --near 29.5,106.5 --radius 50 | json_field 'len(d)')
[ "$n" = 1 ] && pass || fail "near within 50 m found $n"

expect 0 "updated site" -- "$FIC" --db "$db" site update "$plant" --reason "负责人变更" --manager "赵六"
expect 0 "赵六" -- "$FIC" --db "$db" site show "$plant"
rev=$("$FIC" --db "$db" --json site show "$plant" | json_field 'd["revision"]')
[ "$rev" = 2 ] && pass || fail "revision after update is $rev"
expect 0 "closed site" -- "$FIC" --db "$db" site close "$plant" --reason "现场核实已停产"
expect 0 "已关闭" -- "$FIC" --db "$db" site show "$plant"
expect 0 "site.close" -- "$FIC" --db "$db" audit --id "$plant"
entries=$("$FIC" --db "$db" --json audit | json_field 'len(d)')
# closing a site filed its report: a draft site-status lead (audited, not yet queued)
[ "$entries" = 7 ] && pass || fail "audit has $entries entries, wanted 7"
actor=$("$FIC" --db "$db" --json audit --id "$plant" | json_field 'd[0]["actor"]')
[ "$actor" = 协管员 ] && pass || fail "audit actor is $actor"
expect 0 "6 records waiting" -- "$FIC" --db "$db" status

# Refusals from the library: exit 1 and the library's message.
expect 1 "check character" -- "$FIC" --db "$db" site add --kind school --name x --credit-code 91350100M000100Y44
expect 1 "already closed" -- "$FIC" --db "$db" site close "$plant" --reason again
expect 1 "no site" -- "$FIC" --db "$db" site show 01900000-0000-7000-8000-000000000000
expect 1 "does not exist" -- "$FIC" --db "$db" site add --kind school --name x --valid-to 2026-02-30
expect 1 "does not apply" -- "$FIC" --db "$db" site add --kind school --name x --beds 3
mkdir "$dir/junk"
junk="$dir/junk/notes.txt"
i=0; while [ $i -lt 200 ]; do echo "inspection notes, not a database $i"; i=$((i + 1)); done >"$junk"
cp "$junk" "$dir/junk.orig"
expect 1 "not a database" -- "$FIC" --db "$junk" status
cmp -s "$junk" "$dir/junk.orig" && pass || fail "opening a non-database changed it"
expect 1 "FIC_EEXISTS" -- "$FIC" --db "$db" site add --kind school --name y --place-code "https://cq.example/p/1"

# Bad usage: exit 2 and the usage text.
expect 2 "usage:" -- "$FIC"
expect 2 "no store" -- env -u FIC_DB "$FIC" status
expect 2 "unknown command" -- "$FIC" --db "$db" frobnicate
expect 2 "needs --kind and --name" -- "$FIC" --db "$db" site add --name x
expect 2 "unknown code" -- "$FIC" --db "$db" site add --kind hospital --name x
expect 2 "whole number" -- "$FIC" --db "$db" site add --kind school --name x --enrolment many
expect 2 "go together" -- "$FIC" --db "$db" site add --kind school --name x --lat 1
expect 2 "needs --reason" -- "$FIC" --db "$db" site close "$plant"
expect 2 "unknown or incomplete option" -- "$FIC" --db "$db" site list --colour red
expect 2 "LAT,LON" -- "$FIC" --db "$db" site list --near 29.5
expect 2 "exactly one" -- "$FIC" --db "$db" site find
expect 2 "cannot be changed" -- "$FIC" --db "$db" site update "$plant" --reason r --kind school
expect 0 "usage:" -- "$FIC" --help

# Nothing the refusals did changed the store.
expect 0 "4 sites, 7 audit entries" -- "$FIC" --db "$db" status

# Checklists, an inspection, leads, planning.
expect 0 "water.rural" -- "$FIC" --db "$db" checklist list
expect 0 "event.school_cluster" -- "$FIC" --db "$db" checklist list --events
n=$("$FIC" --db "$db" --json checklist list --kind employer | json_field 'len(d)')
[ "$n" = 1 ] && pass || fail "checklists for an employer: $n"
expect 0 '"饮用水 4.2"' -- "$FIC" --db "$db" checklist show water.field_test
school=$("$FIC" --db "$db" --json site list --kind school | json_field 'd[0]["id"]')
insp=$("$FIC" --db "$db" --json inspect start "$school" water.field_test | json_field 'd["id"]')
[ -n "$insp" ] && pass || fail "inspect start"
expect 1 "outside the possible range" -- "$FIC" --db "$db" inspect answer "$insp" ph 15
expect 1 "needs a number" -- "$FIC" --db "$db" inspect answer "$insp" ph abc
expect 1 "not for a site of kind school" -- "$FIC" --db "$db" inspect start "$school" water.rural
expect 0 "answered ph" -- "$FIC" --db "$db" inspect answer "$insp" ph 9.0
for kv in supply=urban sample_point=tap disinfectant=free_chlorine residual=0.5 colour_or_matter=no odour=no; do
	"$FIC" --db "$db" inspect answer "$insp" "${kv%%=*}" "${kv#*=}" >/dev/null || fail "answer $kv"
done
expect 0 "noted" -- "$FIC" --db "$db" inspect note "$insp" ph "试纸读数偏高"
expect 0 "pH 值不符合标准" -- "$FIC" --db "$db" inspect show "$insp"
expect 1 "without a photo" -- "$FIC" --db "$db" inspect finish "$insp"
abn=$("$FIC" --db "$db" --json inspect show "$insp" | json_field '[i["id"] for i in d["items"] if i["abnormal"]]')
[ "$abn" = "['ph']" ] && pass || fail "abnormal items: $abn"
expect 1 "opinion is issued on a finished inspection" -- "$FIC" --db "$db" inspect opinion "$insp"
expect 0 "filed lead" -- "$FIC" --db "$db" lead new event.school_cluster --site "$school" \
	--set unit_type=class --set unit_name=三年级二班 --set first_date=2026-01-05 \
	--set daily_cases=2,2,1 --set symptoms=vomiting,diarrhoea --set similar_symptoms=yes \
	--set shared_meal_or_water=no --set verified=yes
expect 0 "URGENT" -- "$FIC" --db "$db" lead list
expect 0 "school_cluster" -- "$FIC" --db "$db" --json lead list
expect 1 "required items not answered" -- "$FIC" --db "$db" lead new event.foodborne --set ill=3
expect 2 "ITEM=VALUE" -- "$FIC" --db "$db" lead new event.foodborne --set ill
expect 0 "semester_starts = 2026-02-23" -- "$FIC" --db "$db" setting set semester_starts 2026-02-23
expect 1 "does not exist" -- "$FIC" --db "$db" setting set semester_starts 2026-02-30
expect 0 "school (学校卫生, 2 a year): 1 site(s) due of 1 open" -- "$FIC" --db "$db" due
expect 0 "青杠镇中心小学  last patrol never" -- "$FIC" --db "$db" due
expect 0 '"not_patrolled_this_year"' -- "$FIC" --db "$db" --json due
expect 0 "most overdue first" -- "$FIC" --db "$db" due --area occupational --limit 1
due_next=$("$FIC" --db "$db" --json due --area school --limit 1 | json_field 'd["next"]')
[ "$due_next" = None ] && pass || fail "due --area school: one school, no next page: $due_next"
expect 0 '"items"' -- "$FIC" --db "$db" --json due --area school_semester
expect 0 "site(s) due" -- "$FIC" --db "$db" due --all
expect 1 "unknown area" -- "$FIC" --db "$db" due --area nowhere
expect 1 "cursor is not one" -- "$FIC" --db "$db" due --area school --cursor junk
expect 2 "give --area" -- "$FIC" --db "$db" due --limit 5
expect 2 "1 to 500" -- "$FIC" --db "$db" due --area school --limit 0
expect 2 "no --area" -- "$FIC" --db "$db" due --all --area school
expect 2 "options of due" -- "$FIC" --db "$db" tasks --area school
expect 0 "outbox_retention_days = 30" -- "$FIC" --db "$db" setting set outbox_retention_days 30
expect 1 "from 0 to 3650" -- "$FIC" --db "$db" setting set outbox_retention_days -1
expect 0 "report rate" -- "$FIC" --db "$db" stats
expect 0 "open task" -- "$FIC" --db "$db" tasks
expect 2 "unknown" -- "$FIC" --db "$db" inspect frobnicate x

# Evidence: drafts, photos, submission, verification, tampering, trusted time.
draft=$("$FIC" --db "$db" --json lead new lead.tip_off --draft --set source=phone \
	--set subject=illegal_practice --set place=集市 --set description=游医 --set time_sensitive=no \
	--set verified=yes | json_field 'd["id"]')
[ -n "$draft" ] && pass || fail "lead new --draft"
python3 - "$dir/photo.ppm" <<'PY'
import sys
w, h = 200, 150
with open(sys.argv[1], "wb") as f:
    f.write(b"P6 %d %d 255\n" % (w, h))
    f.write(bytes((x * 7 + y * 3) & 255 for y in range(h) for x in range(w) for _ in range(3)))
PY
if command -v cjpeg >/dev/null; then
	cjpeg "$dir/photo.ppm" >"$dir/photo.jpg"
	expect 0 "added photo" -- "$FIC" --db "$db" photo add --lead "$draft" "$dir/photo.jpg"
	pid=$("$FIC" --db "$db" --json photo add --site "$school" "$dir/photo.jpg" | json_field 'd["id"]')
	expect 0 "exported the upload" -- "$FIC" --db "$db" photo export "$pid" --what upload --out "$dir/up.jpg"
	[ -s "$dir/up.jpg" ] && pass || fail "exported rendition is empty"
	expect 2 "photo export" -- "$FIC" --db "$db" photo export "$pid" --what raw --out "$dir/x.jpg"
	# An export replaces the file whole (written beside it, fsync'd, renamed):
	# exporting the thumbnail over the rendition leaves just the thumbnail.
	expect 0 "exported the thumb" -- "$FIC" --db "$db" photo export "$pid" --what thumb --out "$dir/up.jpg"
	[ "$(wc -c <"$dir/up.jpg")" -lt 60000 ] && pass || fail "export did not replace the file"
	[ ! -e "$dir/up.jpg.fic-part" ] && pass || fail "export left its temporary file"
	expect 1 "cannot export" -- "$FIC" --db "$db" photo export "$pid" --out "$dir/no/such/dir/x.jpg"
fi
expect 1 "not a usable JPEG" -- "$FIC" --db "$db" photo add --lead "$draft" "$dir/photo.ppm"
expect 0 "submitted lead" -- "$FIC" --db "$db" lead submit "$draft"
# A lead naming its informant is sealed at submission to the county's key,
# which enrolment pins: without one it waits as a draft.
informed=$("$FIC" --db "$db" --json lead new lead.tip_off --draft --set source=phone \
	--set subject=illegal_practice --set place=集市 --set description=游医 --set time_sensitive=no \
	--set verified=yes --set informant_phone=13907770451 | json_field 'd["id"]')
expect 1 "no county key" -- "$FIC" --db "$db" lead submit "$informed"
expect 0 "13907770451" -- "$FIC" --db "$db" lead show "$informed"
# (the key as enrolment would pin it)
pin_county_key() {
	python3 -c "
import base64,hashlib,sqlite3,sys; pk=bytes(range(32)); c=sqlite3.connect(sys.argv[1])
c.execute('INSERT INTO county_key VALUES (1, ?, ?, ?, 0)', (hashlib.sha256(pk).hexdigest()[:16], base64.b64encode(pk).decode(), '石柱县')); c.commit()" "$db"
}
pin_county_key
expect 0 "submitted lead" -- "$FIC" --db "$db" lead submit "$informed"
expect 0 "1 personal answer sealed" -- "$FIC" --db "$db" lead list
out=$("$FIC" --db "$db" lead show "$informed")
case $out in *13907770451*) fail "lead show prints the sealed phone" ;; *sealed*) pass ;; *) fail "lead show: $out" ;; esac
expect 0 "unenrolled device" -- "$FIC" --db "$db" unenroll
expect 2 "no arguments" -- "$FIC" --db "$db" unenroll now
pin_county_key # (the rest of the session files leads with personal answers)
expect 1 "already submitted" -- "$FIC" --db "$db" lead submit "$draft"
expect 0 "verifies" -- "$FIC" --db "$db" lead verify "$draft"
expect 0 "correction" -- "$FIC" --db "$db" lead correct "$draft" --note "地点应为集市西口"
expect 2 "needs --note" -- "$FIC" --db "$db" lead correct "$draft"
expect 0 "all evidence verifies" -- "$FIC" --db "$db" evidence verify
expect 0 "no contact with the server" -- "$FIC" --db "$db" time
expect 0 "recorded" -- "$FIC" --db "$db" time contact 1795401270300 300
expect 0 "trusted time" -- "$FIC" --db "$db" time
python3 -c "
import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"UPDATE leads SET title='改过' WHERE id=?\", (sys.argv[2],)); c.commit()" "$db" "$draft"
expect 1 "record_altered" -- "$FIC" --db "$db" evidence verify
expect 1 "PROBLEM record_altered" -- "$FIC" --db "$db" lead verify "$draft"
if [ -n "${pid:-}" ]; then
	orig=$("$FIC" --db "$db" --json photo show "$pid" | json_field 'd["path"]')
	python3 -c "
import sys; p=sys.argv[1]; b=bytearray(open(p,'rb').read()); b[len(b)//2]^=1; open(p,'wb').write(b)" "$orig"
	expect 1 "photo_altered" -- "$FIC" --db "$db" evidence verify
fi
# The SMS fallback: an urgent lead's parts, read back by an independent
# decoder of the documented format (tests/tools/sms_reference.py), recorded
# as sent, and the county's confirmation taken; a forged one refused.
sms_lead=$("$FIC" --db "$db" --json lead new event.foodborne --answers \
	'{"onset_date":"2026-03-01","meal_place":"镇中心饭店","meal_unit":"李家婚宴","contact_phone":"13800000000","exposed":120,"ill":14,"dead":0,"suspected_food":"凉拌菜","symptoms":["vomiting","diarrhoea"],"symptoms_detail":"婚宴后多人呕吐腹泻，已送镇卫生院","measures_taken":"已送医","verified":"yes","report_source":"primary_care","diagnosis":["food_poisoning"]}' |
	json_field 'd["id"]')
[ -n "$sms_lead" ] && pass || fail "lead new for SMS"
expect 1 "sms_gateway_number" -- "$FIC" --db "$db" lead sms "$sms_lead"
expect 1 "phone number" -- "$FIC" --db "$db" setting set sms_gateway_number 106-55
expect 0 "sms_gateway_number = 10655000123" -- "$FIC" --db "$db" setting set sms_gateway_number 10655000123
expect 1 "no SMS key" -- "$FIC" --db "$db" lead sms "$sms_lead"
key=$(python3 -c "import base64,os; print(base64.b64encode(bytes(range(7, 39))).decode())")
python3 -c "
import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"INSERT INTO sync_state VALUES ('sync.sms_key', ?)\", (sys.argv[2],)); c.commit()" "$db" "$key"
expect 0 "send 1 SMS to 10655000123" -- "$FIC" --db "$db" lead sms "$sms_lead"
expect 2 "one lead id" -- "$FIC" --db "$db" lead sms
expect 1 "not urgent" -- "$FIC" --db "$db" lead sms "$draft"
if [ -n "$SRC" ]; then
	parts=$("$FIC" --db "$db" lead sms "$sms_lead" --json | json_field '" ".join(d["parts"])')
	# shellcheck disable=SC2086
	back=$(python3 "$SRC/tests/tools/sms_reference.py" decode "$SRC/schema/sms" "$key" $parts)
	[ "$(printf '%s' "$back" | json_field 'd["lead_id"]')" = "$sms_lead" ] && pass || fail "sms lead id: $back"
	[ "$(printf '%s' "$back" | json_field 'd["description"]')" = "婚宴后多人呕吐腹泻，已送镇卫生院" ] && pass ||
		fail "sms description: $back"
	[ "$(printf '%s' "$back" | json_field 'd["place"]')" = "镇中心饭店" ] && pass || fail "sms place: $back"
	[ "$(printf '%s' "$back" | json_field 'd["answers"]["ill"]')" = 14 ] && pass || fail "sms ill: $back"
	[ "$(printf '%s' "$back" | json_field '",".join(d["answers"]["symptoms"])')" = vomiting,diarrhoea ] &&
		pass || fail "sms symptoms: $back"
	printf '%s' "$back" | grep -q 13800000000 && fail "contact phone in the SMS: $back" || pass
fi
expect 0 "to send by SMS" -- "$FIC" --db "$db" lead sms-due
expect 0 "recorded as sent" -- "$FIC" --db "$db" lead sms-sent "$sms_lead"
n=$("$FIC" --db "$db" lead sms-due --json | json_field 'len([l for l in d["leads"] if l["lead_id"] == "'"$sms_lead"'"])')
[ "$n" = 0 ] && pass || fail "a lead sent by SMS is still due"
if [ -n "$SRC" ]; then
	forged=$(python3 "$SRC/tests/tools/sms_reference.py" receipt "$(python3 -c "import base64; print(base64.b64encode(bytes(32)).decode())")" \
		"$sms_lead" 3f9a2c1b0d9e8f7a6b5c4d3e 1772359200123)
	expect 1 "does not verify" -- "$FIC" --db "$db" lead sms-receipt "$sms_lead" "$forged"
	ok=$(python3 "$SRC/tests/tools/sms_reference.py" receipt "$key" "$sms_lead" 3f9a2c1b0d9e8f7a6b5c4d3e 1772359200123)
	# shellcheck disable=SC2086
	expect 0 "delivered: the county received it by SMS at 2026-03-01 10:00:00Z" -- \
		"$FIC" --db "$db" lead sms-receipt "$sms_lead" $ok
	[ "$("$FIC" --db "$db" --json lead show "$sms_lead" | json_field 'd["state"]')" = delivered ] && pass ||
		fail "state after the SMS receipt"
	expect 1 "delivered already" -- "$FIC" --db "$db" lead sms "$sms_lead"
fi
expect 1 "not a county confirmation" -- "$FIC" --db "$db" lead sms-receipt "$sms_lead" hello

# Sync from the tool: refusals that need no server (the end-to-end runs come with server/).
expect 1 "not enrolled" -- "$FIC" --db "$db" sync --server https://county.example.cn
expect 1 "only to loopback" -- "$FIC" --db "$db" enroll ABC123 --server http://county.example.cn
expect 1 "FIC_ENETWORK" -- "$FIC" --db "$db" enroll ABC123 --server http://127.0.0.1:1
expect 2 "no server" -- env -u FIC_SERVER "$FIC" --db "$db" sync
expect 2 "one-time code" -- "$FIC" --db "$db" enroll --server https://county.example.cn
expect 0 "refused no record" -- "$FIC" --db "$db" sync rejections

python3 -c "
import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('DROP TRIGGER chain_no_delete'); c.execute('DELETE FROM chain WHERE seq = (SELECT min(seq) + 1 FROM chain)'); c.commit()" "$db"
expect 1 "chain_gap" -- "$FIC" --db "$db" evidence verify

# The year's commands (issue #14), on a store of their own.
y=$dir/year.db
day=$(date -u -d "+8 hours" +%F)
yr=${day%%-*}
s=$("$FIC" --db "$y" --json site add --kind water_rural --name 白沙供水站 --place-code QG-Y-1 \
	--authority 青杠镇人民政府 | json_field 'd["id"]')
expect 0 "南门" -- "$FIC" --db "$y" site code add "$s" "https://cq.example/y/2" --label 南门
expect 0 "chained as entry 1" -- "$FIC" --db "$y" visit scan " QG-Y-1 "
expect 1 "no site holds this code" -- "$FIC" --db "$y" visit scan "QG-NOPE"
expect 0 "new_site" -- "$FIC" --db "$y" notice due
expect 0 "notice recorded" -- "$FIC" --db "$y" notice add "$s" new_site --method phone
expect 0 "0 notice(s) due" -- "$FIC" --db "$y" notice due
expect 0 "patrol plan (default)" -- "$FIC" --db "$y" plan show
printf '{"areas":{"school":{"per_year":3}}}' >"$dir/plan.json"
expect 0 "3 a year" -- "$FIC" --db "$y" plan set "$dir/plan.json"
expect 0 "recorded publicity" -- "$FIC" --db "$y" activity add publicity --date "$day" --topic 宣传 \
	--people 40 --channel villages
expect 1 "普法五进" -- "$FIC" --db "$y" activity add publicity --date "$day" --topic 宣传 --channel markets
expect 0 "recorded case" -- "$FIC" --db "$y" activity add case --date "$day" --topic 协助 --case X-1
expect 0 "普法宣传次数     1" -- "$FIC" --db "$y" stats
expect 0 "协助案件查办数量 1" -- "$FIC" --db "$y" stats
expect 0 "recorded" -- "$FIC" --db "$y" sample add "S-$yr-1" --site "$s" --point 出厂水 --received-by 刘工
expect 0 "fail" -- "$FIC" --db "$y" sample result "S-$yr-1" fail --on "$day"
expect 0 "red" -- "$FIC" --db "$y" water status
expect 0 "巡查登记表" -- "$FIC" --db "$y" inspect list
expect 0 "<table>" -- "$FIC" --db "$y" register patrols --html
expect 0 "发现时间" -- "$FIC" --db "$y" register reports --csv
expect 2 "not both" -- "$FIC" --db "$y" register reports --csv --html
expect 1 "month is YYYY-MM" -- "$FIC" --db "$y" register reports --month 2026-13

echo "$((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
