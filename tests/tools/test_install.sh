#!/bin/sh
# tests/tools/test_install.sh — `cmake --install` works, and an app finds the
# installed library both ways: find_package(fieldinspect) (shared and static
# targets) and pkg-config.
set -eu
build=$1 src=$2 cc=$3 flags=${4:-}  # flags: sanitizer flags of the build, if any
work=$(mktemp -d "${TMPDIR:-/tmp}/fic-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
libdir=$(ls -d "$work"/prefix/lib*/ | head -1)
test -f "$work/prefix/include/fieldinspect/fieldinspect.h"
test -f "$libdir/pkgconfig/fieldinspect.pc"

cmake -S "$src/tests/install" -B "$work/cm" -DCMAKE_C_COMPILER="$cc" \
	-DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_C_FLAGS="$flags" \
	-DCMAKE_EXE_LINKER_FLAGS="$flags" >/dev/null
cmake --build "$work/cm" >/dev/null
LD_LIBRARY_PATH="$libdir" "$work/cm/consumer_shared" "$work/a.db" | grep -q "saved"
"$work/cm/consumer_static" "$work/b.db" | grep -q "saved"

PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --exists fieldinspect
# shellcheck disable=SC2046
"$cc" $flags -o "$work/pc" "$src/tests/install/consumer.c" \
	$(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags --libs fieldinspect)
LD_LIBRARY_PATH="$libdir" "$work/pc" "$work/c.db" | grep -q "saved"
echo "ok: installed, found by find_package (shared, static) and pkg-config"
