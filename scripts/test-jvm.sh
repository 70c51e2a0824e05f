#!/usr/bin/env bash
# scripts/test-jvm.sh — the Java binding (platform/android/java, jni) on the
# host JVM: builds the library with FIC_WITH_CURL=OFF (the Java transport is
# then the only one, as on Android) and runs its C tests that need no curl,
# builds libfieldinspect_jni and the test hook
# that runs the reference county server in the JVM's process; compiles the
# Java API for Java 8 (what Android's toolchain accepts) and the tests; runs
# them with JUnit 5's console launcher (Debian's junit5, offline) under
# -Xcheck:jni, which stops the JVM on a JNI misuse (a pending exception
# ignored, a local reference table overflow, a bad handle); then again with
# the native side built with AddressSanitizer and UBSan.
#
# Usage: scripts/test-jvm.sh [extra console-launcher arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-deps.sh jvm android
build=build/jvm
t0=$(date +%s)
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFIC_WITH_CURL=OFF -DFIC_BUILD_JNI=ON \
	-DFIC_BUILD_BENCH=OFF >/dev/null
if ! cmake --build "$build" -j"$(nproc)" >"$build.log" 2>&1; then
	cat "$build.log"
	echo "FAILED: build without libcurl"
	exit 1
fi
# Without libcurl the library, the tool and the C tests that need no curl
# transport build and pass (the e2e tests over curl are not built here).
(cd "$build" && ctest -j"$(nproc)" --output-on-failure)
# The binding exports nothing but JNI_OnLoad (RegisterNatives does the rest).
exports=$(nm -D --defined-only "$build/libfieldinspect_jni.so" | awk '{print $3}' | sort | tr '\n' ' ')
if [ "$exports" != "JNI_OnLoad " ]; then
	echo "FAILED: libfieldinspect_jni.so exports: $exports"
	exit 1
fi
if nm -D "$build/libfieldinspect_jni.so" | grep -q curl; then
	echo "FAILED: libfieldinspect_jni.so links libcurl with FIC_WITH_CURL=OFF"
	exit 1
fi

junit=/usr/share/java/junit-platform-console-standalone.jar
rm -rf "$build/classes" "$build/test-classes"
mkdir -p "$build/classes" "$build/test-classes"
# The API as an Android app compiles it: Java 8 language and library.
javac --release 8 -Xlint:all -Xlint:-options -Werror -encoding UTF-8 -d "$build/classes" \
	$(find platform/android/java -name '*.java')
javac --release 17 -Xlint:all -Werror -encoding UTF-8 -cp "$build/classes:$junit" \
	-d "$build/test-classes" $(find tests/jvm/java -name '*.java')
t1=$(date +%s)
echo "=== jvm: built in $((t1 - t0)) s; running the tests"
run_tests() { # $1: the build holding the libraries; the rest: the JVM's environment
	local lib=$1 log=$1.tests.log rc=0
	shift
	run_java "$lib" "$@" 2>&1 | tee "$log" || rc=1
	# -Xcheck:jni only warns (a call with an exception pending, local
	# references past capacity): here a warning fails the run.
	if grep -q "^WARNING" "$log"; then
		grep -A3 "^WARNING" "$log" | head -20
		echo "FAILED: warnings from the JVM (-Xcheck:jni)"
		rc=1
	fi
	return $rc
}
run_java() {
	local lib=$1
	shift
	env "$@" java -Xcheck:jni --add-opens java.base/java.net=ALL-UNNAMED \
		--add-opens java.base/sun.net.www.protocol.https=ALL-UNNAMED \
		-Dorg.fieldinspect.library="$PWD/$lib/libfieldinspect_jni.so" \
		-Dfic.hook="$PWD/$lib/tests/libfic_county_hook.so" \
		-jar "$junit" --disable-banner --disable-ansi-colors --details=tree --fail-if-no-tests \
		-cp "$build/classes:$build/test-classes" --select-package org.fieldinspect "${extra[@]}"
}
extra=("$@")
run_tests "$build"
t2=$(date +%s)
echo "=== jvm: tests took $((t2 - t1)) s"

# Again with the native side under AddressSanitizer and UBSan (leak detection
# off: the JVM's own allocations are not ours; the leak test counts the core's).
asan=build/jvm-asan
echo "=== jvm: the same tests, native code under ASan+UBSan"
cmake -S . -B "$asan" -DCMAKE_BUILD_TYPE=Debug -DFIC_SANITIZE=ON -DFIC_WITH_CURL=OFF \
	-DFIC_BUILD_JNI=ON -DFIC_BUILD_BENCH=OFF >/dev/null
if ! cmake --build "$asan" -j"$(nproc)" --target fieldinspect_jni fic_county_hook >"$asan.log" 2>&1; then
	cat "$asan.log"
	echo "FAILED: JNI build (ASan)"
	exit 1
fi
run_tests "$asan" LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)" \
	ASAN_OPTIONS=detect_leaks=0:handle_segv=0:allow_user_segv_handler=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
echo "=== jvm: ASan+UBSan tests took $(($(date +%s) - t2)) s"
