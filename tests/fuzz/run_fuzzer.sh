#!/bin/sh
# tests/fuzz/run_fuzzer.sh — run one libFuzzer target for ctest
# (docs/fuzzing.md).
#   run_fuzzer.sh replay  BINARY CORPUS WORK   every seed once (a regression test)
#   run_fuzzer.sh SECONDS BINARY CORPUS WORK   fuzz for SECONDS from the seeds
# New inputs go to WORK (made afresh), never into the source tree; a crash,
# leak or timeout is written there as crash-*/leak-*/timeout-* and fails
# the test, with the line to reproduce it. A dictionary
# CORPUS/../../dict/<target>.dict is used when there is one.
set -eu
mode=$1 bin=$2 corpus=$3 work=$4
name=$(basename "$bin")
dict=$(dirname "$0")/dict/$name.dict
set --
[ -f "$dict" ] && set -- -dict="$dict"
rm -rf "$work"
mkdir -p "$work/new"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
if [ "$mode" = replay ]; then
	exec "$bin" -runs=0 -timeout=30 -rss_limit_mb=2560 "$@" "$corpus"
fi
status=0
"$bin" -max_total_time="$mode" -timeout=10 -rss_limit_mb=2560 -print_final_stats=1 \
	-artifact_prefix="$work/" "$@" "$work/new" "$corpus" >"$work/log" 2>&1 || status=$?
grep -E "^(stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb|#[0-9]+ +DONE)" \
	"$work/log" || true
if [ $status -ne 0 ]; then
	tail -n 80 "$work/log"
	for f in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
		[ -e "$f" ] && echo "reproduce: $bin $f  (add it to $corpus once fixed)"
	done
	exit $status
fi
