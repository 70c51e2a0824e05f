#!/usr/bin/env bash
# scripts/setup-deps.sh — install the Debian 12 packages fieldinspect needs to
# build, test and demo, when they are missing. Idempotent; prints nothing when
# everything is already there. Needs root (or sudo) only when installing.
set -euo pipefail

packages=(
	build-essential cmake pkg-config clang   # toolchains (gcc and clang builds)
	libclang-rt-14-dev                       # libFuzzer and the sanitizers' runtimes for clang
	libsqlite3-dev                           # the local store
	libcjson-dev                             # JSON
	libcurl4-openssl-dev                     # sync transport
	zlib1g-dev                               # wire compression
	libssl-dev                               # SHA-256 (libcrypto)
	libjpeg62-turbo-dev libturbojpeg0-dev    # photo pipeline
	libjpeg-turbo-progs                      # cjpeg/djpeg: demo photos, benchmarks
	libexif-dev                              # EXIF orientation, capture time, GPS
	libcmocka-dev                            # unit tests
	libmicrohttpd-dev                        # the reference county server (HTTPS via GnuTLS)
	openssl                                  # test certificates for the HTTPS tests
	python3                                  # JSON checks in the tool tests
	ca-certificates
)

missing=()
# Node.js and npm run the JSON Schema validator (ajv) over the checklists.
if ! command -v npm >/dev/null 2>&1; then
	missing+=(nodejs npm)
fi
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}"
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
