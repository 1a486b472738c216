#!/usr/bin/env bash
# Builds and runs the bookkeeping benchmark in release mode; prints JSON records (with --json)
# or a short table.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export PATH=/opt/swift/usr/bin:$PATH
cd "$here"
swift build -c release --scratch-path "$here/.build-bench" >&2
out=$("$(swift build -c release --scratch-path "$here/.build-bench" --show-bin-path)/bookkeeping-bench")
if [ "${1:-}" = --json ]; then
    echo "$out"
else
    echo "$out" | python3 -c '
import json, sys
for r in json.load(sys.stdin):
    met = "met" if r["met"] else "NOT met"
    print("%s: %.1f ms (reference %.1f ms, goal %s: %s)" % (r["figure"], r["value"], r["referenceValue"], r["goal"], met))'
fi
