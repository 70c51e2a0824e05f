#!/usr/bin/env bash
# scripts/npm-ci.sh — install tools/schema-check's node modules (ajv, Redocly)
# exactly as package-lock.json pins them. A registry fetch has been seen to
# hang for tens of minutes while the next attempt took 20 s, so each attempt
# has a deadline and there are three.
set -uo pipefail
cd "$(dirname "$0")/../tools/schema-check"
for attempt in 1 2 3; do
	if timeout 300 npm ci --no-audit --no-fund --loglevel=error --fetch-timeout=60000 \
		--fetch-retries=3 >/dev/null; then
		exit 0
	fi
	echo "npm-ci.sh: attempt $attempt failed or timed out" >&2
done
exit 1
