#!/usr/bin/env bash
# scripts/bench-photo.sh — the photo rendition benchmark (bench/photo_bench.c):
# three generated photos (12 MP close-up, 12 MP outdoor, 48 MP close-up) made
# into the 1600 px upload rendition; its CPU time against djpeg's 1/8 decode
# (the floor), interleaved, in one process and as processes; its peak memory
# for every EXIF orientation; its quality against an exact Lanczos-3
# rendition and vipsthumbnail at equal bytes. Installs the build dependencies
# and the tools when they are missing (quiet when present), builds a Release
# build in build/bench and runs it. Arguments go to photo_bench, e.g.
# `--pairs 31`, `--images closeup` or `--keep`. About 80 s.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-deps.sh

tools=(libvips-tools libjpeg-turbo-progs) # vipsthumbnail, djpeg
missing=()
for p in "${tools[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "bench-photo: installing ${missing[*]}"
	sudo=()
	[ "$(id -u)" -eq 0 ] || sudo=(sudo)
	export DEBIAN_FRONTEND=noninteractive
	"${sudo[@]}" apt-get update -qq
	"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

echo "=== building (build/bench, Release)"
cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release -DFIC_BUILD_TESTS=OFF -DFIC_BUILD_TOOLS=OFF >/dev/null
cmake --build build/bench -j"$(nproc)" --target photo_bench >/dev/null

echo "=== running build/bench/bench/photo_bench $*"
exec build/bench/bench/photo_bench "$@"
