#!/usr/bin/env bash
# scripts/setup-deps.sh — install the Debian 12 packages fieldinspect needs to
# build, test and demo, when they are missing. Idempotent; prints nothing when
# everything is already there. Needs root (or sudo) only when installing.
#
# Usage: setup-deps.sh [arm64] [jvm] [android]
#   (none)   the host build, tests and demo
#   arm64    + the arm64 cross toolchain, arm64 multiarch libraries and
#              qemu-user (scripts/test-arm64.sh)
#   jvm      + OpenJDK 17 and JUnit 5 (the Java binding's tests)
#   android  + android-liblog-dev (the Android platform layer's host tests)
# scripts/test.sh asks for all of them.
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
	libsodium-dev                            # SMS fallback MAC; informants sealed (crypto_box_seal)
	libcmocka-dev                            # unit tests
	libmicrohttpd-dev                        # the reference county server (HTTPS via GnuTLS)
	openssl                                  # test certificates for the HTTPS tests
	python3                                  # JSON checks in the tool tests
	ca-certificates
	file                                     # scripts check what they built
)
arm64=0
for group in "$@"; do
	case $group in
	arm64)
		arm64=1
		# The arm64 libraries the library, tools and tests link (multiarch).
		# (a JDK for jni.h: the JNI binding is cross-built too)
		packages+=(crossbuild-essential-arm64 qemu-user qemu-user-binfmt binutils-aarch64-linux-gnu
			openjdk-17-jdk-headless)
		for p in libsqlite3-dev libcurl4-openssl-dev libcjson-dev libjpeg62-turbo-dev \
			libturbojpeg0-dev libexif-dev libssl-dev zlib1g-dev libcmocka-dev libmicrohttpd-dev libsodium-dev \
			android-liblog-dev; do
			packages+=("$p:arm64")
		done
		;;
	jvm) packages+=(openjdk-17-jdk-headless junit5) ;;
	android) packages+=(android-liblog-dev) ;;
	*)
		echo "setup-deps.sh: unknown group $group (arm64, jvm, android)" >&2
		exit 2
		;;
	esac
done

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
if [ $arm64 -eq 1 ] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
	"${sudo[@]}" dpkg --add-architecture arm64
fi

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
"${sudo[@]}" apt-get update -qq
# One apt command, so amd64 and arm64 multiarch packages move in lockstep
# (it may upgrade amd64 libraries to match).
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
