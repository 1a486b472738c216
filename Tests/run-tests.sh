#!/usr/bin/env bash
# Runs every test: unit and CLI suites (simulated hosts, the real libpci/libudev/libmnl, the
# real lspci). Installs missing Debian packages first. Fails loudly when something is missing.
# Then: every --json output against schemas/ (Tests/Schemas), and the Debian package installed
# into a debootstrapped Debian 12 root (Tests/Package, needs root).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
bash .ci/install-deps.sh
# Style and the no-force-unwrap rule first: a finding fails the run before the long build.
bash Tests/Lint/run.sh
swift build --build-tests
swift test --skip-build
bash Tests/Schemas/run.sh
bash Tests/Package/run.sh
# The device plugin against a fake kubelet (Python grpcio, the kubelet's own api.proto).
bash Tests/DevicePlugin/run.sh
