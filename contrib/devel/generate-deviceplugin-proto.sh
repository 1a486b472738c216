#!/bin/bash
# Regenerates the Swift code of the kubelet device-plugin API (Sources/DevicePlugin/Generated)
# from Sources/DevicePlugin/Proto/deviceplugin.proto.
#
# The generated files are committed, so a normal build needs neither protoc nor the code
# generators (building swift-protobuf's plugin on every clean build costs minutes). Run this
# after changing the .proto, or to move to newer swift-protobuf / grpc-swift-protobuf versions
# (keep the versions below equal to Package.swift's).
#
# Needs: protoc (Debian: protobuf-compiler, installed here when missing) and Swift. The two
# protoc plugins (protoc-gen-swift, protoc-gen-grpc-swift-2) are built from the same package
# versions in a scratch package under ${TMPDIR:-/tmp}.
set -euo pipefail
HERE=$(cd "$(dirname "$0")/../.." && pwd)
PROTOBUF_VERSION=1.39.0
GRPC_PROTOBUF_VERSION=2.4.1
WORK="${TMPDIR:-/tmp}/vgpuctl-protogen"
export PATH=/opt/swift/usr/bin:$PATH

if ! command -v protoc >/dev/null; then
    apt-get -o DPkg::Lock::Timeout=600 install -y protobuf-compiler >/dev/null
fi
mkdir -p "$WORK"
cat > "$WORK/Package.swift" <<SWIFT
// swift-tools-version:6.1
import PackageDescription
let package = Package(
    name: "vgpuctl-protogen",
    dependencies: [
        .package(url: "https://github.com/apple/swift-protobuf", exact: "$PROTOBUF_VERSION"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", exact: "$GRPC_PROTOBUF_VERSION"),
    ],
    targets: []
)
SWIFT
(cd "$WORK" && swift build -c release --product protoc-gen-swift && swift build -c release --product protoc-gen-grpc-swift-2)
BIN=$(cd "$WORK" && swift build -c release --show-bin-path)

OUT="$HERE/Sources/DevicePlugin/Generated"
mkdir -p "$OUT"
protoc --proto_path="$HERE/Sources/DevicePlugin/Proto" \
    --plugin=protoc-gen-swift="$BIN/protoc-gen-swift" \
    --plugin=protoc-gen-grpc-swift="$BIN/protoc-gen-grpc-swift-2" \
    --swift_out="$OUT" --swift_opt=Visibility=Public \
    --grpc-swift_out="$OUT" --grpc-swift_opt=Visibility=Public,Client=true,Server=true \
    deviceplugin.proto
echo "generated: $(ls "$OUT")"
