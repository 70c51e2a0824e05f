#!/bin/sh
# Fails if the shared library exports any defined symbol not prefixed fic_.
set -eu
lib=$1
bad=$(nm -D --defined-only "$lib" | awk '{print $NF}' | grep -v '^fic_' || true)
if [ -n "$bad" ]; then
	echo "symbols exported without the fic_ prefix:"
	echo "$bad"
	exit 1
fi
count=$(nm -D --defined-only "$lib" | grep -c ' fic_')
echo "ok: $count exported symbols, all fic_"
[ "$count" -gt 10 ]
