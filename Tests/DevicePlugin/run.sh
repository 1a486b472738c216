#!/bin/bash
# The fake-kubelet test of `vgpuctl device-plugin`: a Python gRPC (grpcio) kubelet compiled at
# test time from the kubelet's own api.proto (fetched from Debian, see fetch-kubelet-proto.sh),
# run with pytest against the built vgpuctl. Installs what it needs; fails loudly without it.
set -euo pipefail
cd "$(dirname "$0")/../.."
export VGPUCTL_BIN="${VGPUCTL_BIN:-$PWD/.build/debug/vgpuctl}"
[ -x "$VGPUCTL_BIN" ] || { echo "Tests/DevicePlugin/run.sh: $VGPUCTL_BIN is not built (swift build first)" >&2; exit 1; }
python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore 'grpcio>=1.60' 'grpcio-tools>=1.60' 'pytest>=7' \
    || { echo "Tests/DevicePlugin/run.sh: pip install of grpcio, grpcio-tools, pytest failed" >&2; exit 1; }
export KUBELET_API_PROTO="$(bash Tests/DevicePlugin/fetch-kubelet-proto.sh)"
exec python3 -m pytest -v -p no:cacheprovider Tests/DevicePlugin/test_fake_kubelet.py
