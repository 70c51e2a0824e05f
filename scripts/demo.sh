#!/usr/bin/env bash
# scripts/demo.sh — the main job: build fieldinspect and walk through a short
# patrol with the `fic` tool on a fresh store, printing each command and
# what it did. Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-deps.sh

echo "=== building (build/release)"
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DFIC_BUILD_TESTS=OFF >/dev/null
cmake --build build/release -j"$(nproc)" --target fic >/dev/null
fic_bin=$PWD/build/release/tools/fic

work=$(mktemp -d "${TMPDIR:-/tmp}/fic-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
export FIC_DB=$work/patrol.db FIC_ACTOR=协管员-张敏

step() { echo; echo "--- $1"; }
run() {
	printf '$ fic'
	for a in "$@"; do case "$a" in *" "*) printf " '%s'" "$a" ;; *) printf ' %s' "$a" ;; esac; done
	echo
	"$fic_bin" "$@"
}
json_id() { python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }

step "A fresh store on the inspector's phone"
run init

step "On the route: a rural water plant that is not in the county registry (新建本底)"
run site add --kind water_rural --name "青杠镇石桥村集中供水站" --address "青杠镇石桥村 4 组" \
	--credit-code 91350100M000100Y43 --licence-no "渝卫水证字〔2023〕第 021 号" \
	--valid-from 2023-05-01 --valid-to 2027-04-30 --lat 29.56310 --lon 106.55160 \
	--place-code "https://cq.example/place/QG-0421" --reason "巡查路线发现，本底无此供水站"
plant=$("$fic_bin" --json site find --place-code "https://cq.example/place/QG-0421" | json_id)

step "A boarding primary school and a village clinic nearby"
run site add --kind school --name "青杠镇中心小学" --school-level primary --boarding yes \
	--enrolment 640 --lat 29.56480 --lon 106.55020 --reason "本底补录"
run site add --kind medical --name "石桥村卫生室" --registration licensed \
	--institution-type village_clinic --beds 2 --lat 29.56200 --lon 106.55300

step "Scanning the QR place code at the plant's gate finds it"
run site find --place-code "https://cq.example/place/QG-0421"

step "What is within 500 m of here?"
run site list --near 29.5630,106.5516 --radius 500

step "Search the registry by name (Chinese substring)"
run site list --name 青杠

step "The plant's person in charge has changed: update with a reason"
run site update "$plant" --manager "刘洋" --reason "负责人已变更，现场核实"

step "A second visit finds the plant shut down"
run site close "$plant" --reason "现场核实已停止供水，改由镇自来水厂供水"

step "Everything is in the audit log (who, what, when) ..."
run audit
step "... and queued for upload to the county"
run status
echo
echo "demo store was $FIC_DB (removed on exit)"
