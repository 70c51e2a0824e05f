#!/usr/bin/env bash
# scripts/test-arm64.sh — build the library, the tools and the tests for
# arm64 (aarch64, the ABI of nearly every Android phone in use) with Debian's
# cross toolchain and arm64 multiarch libraries, and run the test suite under
# qemu-user. No Android NDK is available here, so this is arm64 Linux/glibc,
# not bionic: it proves the C is right on the CPU (alignment, char
# signedness, weak memory ordering, 64-bit long), not the Android libc.
#
# Emulation is ~5-20x slower than the host, so tests that measure time read
# FIC_TEST_TIME_SCALE (tests/support/testutil.h: tu_time_scale) and stretch
# their bounds and kill windows by it.
#
# Usage: scripts/test-arm64.sh [ctest arguments]   e.g. -L unit -L e2e
# Prints the stripped arm64 sizes of libfieldinspect.so and of each library
# an app must ship with it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-deps.sh arm64

# qemu-user for aarch64 ELF files: ctest runs test executables through
# CMAKE_CROSSCOMPILING_EMULATOR, but tests also exec fic and the server.
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
	sudo=()
	[ "$(id -u)" -eq 0 ] || sudo=(sudo)
	mountpoint -q /proc/sys/fs/binfmt_misc ||
		"${sudo[@]}" mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
	grep -v '^#' /usr/lib/binfmt.d/qemu-aarch64.conf |
		"${sudo[@]}" tee /proc/sys/fs/binfmt_misc/register >/dev/null
fi

toolchain=$PWD/cmake/toolchain-aarch64-linux-gnu.cmake
build=build/arm64
jobs=$(nproc)
t0=$(date +%s)
echo "=== arm64: configure and build (aarch64-linux-gnu-gcc, -Werror)"
# The JNI binding too (jni.h is the host JDK's; jni_md.h is the same on every
# LP64 Linux), and the Android platform layer's tests on arm64 liblog.
cmake -S . -B "$build" -DCMAKE_TOOLCHAIN_FILE="$toolchain" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DFIC_BUILD_BENCH=OFF -DFIC_BUILD_JNI=ON >/dev/null
if ! cmake --build "$build" -j"$jobs" >"$build.log" 2>&1; then
	cat "$build.log"
	echo "FAILED: arm64 build"
	exit 1
fi
file -L "$build/libfieldinspect.so.0" | grep -q "ARM aarch64" || {
	echo "FAILED: $build/libfieldinspect.so.0 is not an aarch64 library"
	exit 1
}
t1=$(date +%s)
echo "    built in $((t1 - t0)) s"

echo "=== arm64: ctest under qemu-aarch64 $*"
# Nested builds in the tests (the install test) cross-compile too.
export CMAKE_TOOLCHAIN_FILE=$toolchain
export PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig
export FIC_TEST_TIME_SCALE=${FIC_TEST_TIME_SCALE:-8}
export QEMU_LD_PREFIX=/
rc=0
(cd "$build" && ctest --output-on-failure -j"$jobs" "$@") || rc=$?
t2=$(date +%s)
echo "    tests took $((t2 - t1)) s under qemu (time scale $FIC_TEST_TIME_SCALE)"

echo "=== arm64: stripped sizes (what an app ships for arm64-v8a)"
strip_size() {
	local f tmp
	f=$(readlink -f "$1")
	tmp=$(mktemp)
	aarch64-linux-gnu-strip -o "$tmp" "$f"
	printf "    %-28s %8d bytes  (%s)\n" "$(basename "$1")" "$(stat -c %s "$tmp")" "$2"
	rm -f "$tmp"
}
# As an Android app builds it: no libcurl, no tests, tools or server; the
# core linked into the JNI library.
app=build/arm64-app
cmake -S . -B "$app" -DCMAKE_TOOLCHAIN_FILE="$toolchain" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DFIC_WITH_CURL=OFF -DFIC_BUILD_JNI=ON -DFIC_BUILD_TESTS=OFF -DFIC_BUILD_TOOLS=OFF \
	-DFIC_BUILD_SERVER=OFF -DFIC_BUILD_BENCH=OFF >/dev/null
cmake --build "$app" -j"$jobs" --target fieldinspect fieldinspect_jni >"$app.log" 2>&1 || {
	cat "$app.log"
	echo "FAILED: arm64 app build"
	exit 1
}
strip_size "$app/libfieldinspect.so.0" "the core, without libcurl"
strip_size "$app/libfieldinspect_jni.so" "the core and the JNI glue in one: what the app loads"
# Each library the core links that an Android app must bundle (the NDK
# provides only libc, libm, libdl, liblog and libz among these).
aarch64-linux-gnu-readelf -d "$build/libfieldinspect.so.0" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' |
	while read -r lib; do
		case $lib in
		libc.so.* | libm.so.* | libdl.so.* | libpthread.so.* | ld-linux*) continue ;;
		libz.so.*) note="NDK provides (system libz)" ;;
		libcurl.so.*) note="not on Android: FIC_WITH_CURL=OFF, the Java transport" ;;
		*) note="bundled by the app" ;;
		esac
		strip_size "/usr/lib/aarch64-linux-gnu/$lib" "$note"
	done
echo "    (libfieldinspect_jni.so needs: $(aarch64-linux-gnu-readelf -d "$app/libfieldinspect_jni.so" |
	sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | tr '\n' ' '))"
exit $rc
