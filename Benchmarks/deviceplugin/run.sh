#!/bin/bash
# Device-plugin benchmark: idle resident memory, CPU time over 60 idle seconds (no polling),
# and the time from a change (vf clear / vf assign) to a fake kubelet seeing the new list.
# Uses the release build; --json prints the records Benchmarks/run.py collects.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH=/opt/swift/usr/bin:$PATH
export VGPUCTL_BIN="${VGPUCTL_BIN:-$(swift build -c release --show-bin-path)/vgpuctl}"
python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore 'grpcio>=1.60' 'grpcio-tools>=1.60' >&2
export KUBELET_API_PROTO="$(bash Tests/DevicePlugin/fetch-kubelet-proto.sh)"
exec python3 Benchmarks/deviceplugin/bench.py "$@"
