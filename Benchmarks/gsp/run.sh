#!/usr/bin/env bash
# Round trips per second through vgpuctl's GSP message queues (`vgpuctl gsp ping` against a
# booted gsp-stub: GSP_RM_CONTROL NV0000_CTRL_CMD_NULL, parameters echoed), next to a minimal C
# ping-pong over a shared mapping with the same wake-up scheme (pingpong.c), measured
# alternately in the same run. Release build. Not part of the test suite.
#
#   Benchmarks/gsp/run.sh            REPS=5 SMALL_COUNT=50000 LARGE_COUNT=5000 VGPUCTL_GSP_SPIN=0 PIN=same
#
# Where the two sides run, for vgpuctl and the C reference alike (so runs do not depend on
# where the scheduler happens to place them):
#   PIN=same   client and server both on CPU 0: each wake-up is a context switch on one CPU,
#              and the figures measure the software's own cost per round trip (the default);
#   PIN=split  client on CPU 0, server (gsp-stub, the C child) on CPU 1: each wake-up crosses
#              CPUs, which on a virtual machine costs an IPI to an idle vCPU;
#   PIN=off    the scheduler decides.
set -euo pipefail
# --json: print the figures as JSON records (for Benchmarks/run.py) instead of the table.
json=0
[ "${1:-}" = --json ] && json=1
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export PATH=/opt/swift/usr/bin:$PATH
scratch=${SCRATCH:-$root/.build-gsp-bench}
reps=${REPS:-5}
small_n=${SMALL_COUNT:-50000}
large_n=${LARGE_COUNT:-5000}
export VGPUCTL_GSP_SPIN=${VGPUCTL_GSP_SPIN:-0}
export PIN=${PIN:-same}
if [ "$(nproc)" -lt 2 ] && [ "$PIN" = split ]; then export PIN=off; fi
pf=0000:18:00.0

echo "building vgpuctl and gsp-stub (release, $scratch)..." >&2
# BUILD_FLAGS: extra flags for swift build (Benchmarks/run.py passes --static-swift-stdlib and
# its own scratch path, so the binary measured is the one it measures everywhere else).
swift build -c release --scratch-path "$scratch" --product vgpuctl ${BUILD_FLAGS:-} >&2
swift build -c release --scratch-path "$scratch" --product gsp-stub ${BUILD_FLAGS:-} >&2
bin="$scratch/release"

# Shared files on tmpfs when there is one (as /run is on a real host), for both sides alike.
export TMPDIR=${TMPDIR:-$( [ -d /dev/shm ] && echo /dev/shm || echo /tmp )}
work=$(mktemp -d "$TMPDIR/gsp-bench-XXXXXX")
cleanup() {
    "$bin/vgpuctl" --root "$work/host" gsp stop "$pf" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
cc -O2 -Wall -o "$work/pingpong" "$here/pingpong.c"
"$bin/vgpuctl" sim create "$work/host" --model h100x8 --vgpu-interface none >/dev/null
"$bin/vgpuctl" --root "$work/host" gsp boot "$pf" >/dev/null
client=()
if [ "$PIN" = same ] || [ "$PIN" = split ]; then
    stub=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$work/host/run/vgpuctl/gsp/$pf/state.json")
    taskset -p -c "$([ "$PIN" = split ] && echo 1 || echo 0)" "$stub" >/dev/null
    client=(taskset -c 0)
fi

# Payloads: rpc_gsp_rm_control_v03_00 is 24 bytes; small = no parameters, large = 64 KiB of them.
small_bytes=24
large_bytes=$((24 + 65536))
swift_rate() {
    "${client[@]}" "$bin/vgpuctl" --root "$work/host" gsp ping "$pf" --count "$1" --size "$2" --json |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["roundTripsPerSecond"])'
}
results=$work/results
: >"$results"
for r in $(seq "$reps"); do
    echo "rep $r/$reps" >&2
    echo "small c $("$work/pingpong" "$small_bytes" "$small_n" "$VGPUCTL_GSP_SPIN")" >>"$results"
    echo "small swift $(swift_rate "$small_n" 0)" >>"$results"
    echo "large c $("$work/pingpong" "$large_bytes" "$large_n" "$VGPUCTL_GSP_SPIN")" >>"$results"
    echo "large swift $(swift_rate "$large_n" 65536)" >>"$results"
done

python3 - "$results" "$reps" "$VGPUCTL_GSP_SPIN" "$small_bytes" "$large_bytes" "$PIN" "$json" <<'PY'
import json, os, statistics, sys
path, reps, spin, small, large, pin, as_json = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7] == "1"
data = {}
for line in open(path):
    case, impl, value = line.split()
    data.setdefault((case, impl), []).append(float(value))
if as_json:
    out = []
    for case, label in [("small", "small RPC"), ("large", "64 KiB RPC")]:
        ms, mc = statistics.median(data[(case, "swift")]), statistics.median(data[(case, "c")])
        out.append({"figure": f"GSP queue round trips, {label} (pin {pin})", "value": round(ms), "unit": "round trips/s",
                    "reference": "C ping-pong over a shared mapping", "referenceValue": round(mc), "ratio": round(ms / mc, 3),
                    "goal": "at least 0.8 of the C rate (ratio >= 0.8)", "met": ms / mc >= 0.8})
    print(json.dumps(out))
    sys.exit(0)
print(f"GSP RPC round trips: {reps} alternating runs each, spin {spin} checks before sleeping, "
      f"{os.cpu_count()} CPUs, {dict(same='client and server on CPU 0', split='client on CPU 0, server on CPU 1').get(pin, 'unpinned')}, "
      f"load average {os.getloadavg()[0]:.2f}, shared files in {os.environ.get('TMPDIR')}")
print()
print(f"{'RPC':<12} {'payload':>9} {'vgpuctl median':>15} {'C median':>12} {'ratio':>6}   {'vgpuctl best':>13} {'C best':>12} {'ratio':>6}")
for case, size, label in [("small", small, "small"), ("large", large, "64 KiB")]:
    s, c = data[(case, "swift")], data[(case, "c")]
    ms, mc, bs, bc = statistics.median(s), statistics.median(c), max(s), max(c)
    print(f"{label:<12} {size + ' B':>9} {ms:>15,.0f} {mc:>12,.0f} {ms / mc:>6.2f}   {bs:>13,.0f} {bc:>12,.0f} {bs / bc:>6.2f}")
print()
for case, label in [("small", "small"), ("large", "64 KiB")]:
    for impl in ["swift", "c"]:
        print(f"  {label:<7} {'vgpuctl' if impl == 'swift' else 'C':<8} runs: " + " ".join(f"{v:,.0f}" for v in data[(case, impl)]))
print()
print("vgpuctl: GSP_RM_CONTROL through GspMem rings (element + RPC headers, checksum both ways, continuation")
print("records for 64 KiB, sequence checks) to gsp-stub and back; C: memcpy in and out of one buffer per direction.")
PY
