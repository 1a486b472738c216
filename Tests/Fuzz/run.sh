#!/usr/bin/env bash
# Tests/Fuzz/run.sh [TARGET [SECONDS]]: builds the libFuzzer binary (-sanitize=fuzzer,address)
# and runs each target (or one) for SECONDS (default $FUZZ_SECONDS or 300) from the seed corpus
# in corpus/<target>. New corpus entries go to a scratch directory; a crash input is copied to
# regressions/<target>/ and the script exits 1 naming it. Prints one summary line per target.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export PATH=/opt/swift/usr/bin:$PATH
SECONDS_EACH=${2:-${FUZZ_SECONDS:-300}}
cd "$HERE"
swift build -c release --scratch-path "$HERE/.build-fuzz" \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library >"$HERE/.build-fuzz.log" 2>&1 \
    || { tail -40 "$HERE/.build-fuzz.log"; echo "fuzz: build failed" >&2; exit 1; }
BIN=$(swift build -c release --scratch-path "$HERE/.build-fuzz" --show-bin-path)/vgpuctl-fuzz
[ -x "$BIN" ] || { echo "fuzz: $BIN missing" >&2; exit 1; }
targets=${1:-$(ls "$HERE/corpus")}
status=0
# Every saved finding replays under ASan first (the unit suite replays them without it).
for d in "$HERE"/regressions/*/; do
    [ -d "$d" ] || continue
    t=$(basename "$d")
    files=("$d"*)
    [ -e "${files[0]}" ] || continue
    rlog=$(mktemp)
    if VGPUCTL_FUZZ_TARGET=$t "$BIN" "${files[@]}" >"$rlog" 2>&1; then
        echo "fuzz: $t: ${#files[@]} regressions replayed under ASan, no finding"
    else
        status=1
        echo "fuzz: $t: a regression fails under ASan again:" >&2
        tail -30 "$rlog" >&2
    fi
    rm -f "$rlog"
done
for t in $targets; do
    [ -d "$HERE/corpus/$t" ] || { echo "fuzz: no corpus/$t" >&2; exit 1; }
    work=$(mktemp -d)
    cp -r "$HERE/corpus/$t/." "$work/"
    art=$(mktemp -d)
    log=$(mktemp)
    if VGPUCTL_FUZZ_TARGET=$t "$BIN" "$work" -max_total_time="$SECONDS_EACH" -rss_limit_mb=4096 \
        -max_len=65536 -timeout=10 -artifact_prefix="$art/" >"$log" 2>&1; then
        runs=$(grep -Eo 'Done [0-9]+ runs' "$log" | grep -Eo '[0-9]+' | tail -1)
        echo "fuzz: $t: ${SECONDS_EACH}s, ${runs:-?} executions, no finding"
    else
        status=1
        mkdir -p "$HERE/regressions/$t"
        for f in "$art"/*; do [ -f "$f" ] && cp "$f" "$HERE/regressions/$t/" && echo "fuzz: $t: FINDING saved as regressions/$t/$(basename "$f")"; done
        tail -30 "$log"
    fi
    rm -rf "$work" "$art" "$log"
done
exit $status
