#!/usr/bin/env bash
# swift format lint --strict over every Swift file of the package (generated gRPC/protobuf code
# excepted), with the checked-in .swift-format (4 spaces, 120 columns, no force unwraps, no
# try!, no implicitly unwrapped optionals outside tests; Tests/.swift-format allows those in
# tests). Any finding fails the run.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH=/opt/swift/usr/bin:$PATH
swift format --version >/dev/null || { echo "Tests/Lint/run.sh: 'swift format' is missing from the toolchain" >&2; exit 1; }
mapfile -t files < <(git ls-files '*.swift' | grep -v '/Generated/')
[ "${#files[@]}" -gt 100 ] || { echo "Tests/Lint/run.sh: only ${#files[@]} Swift files found; is this the repository?" >&2; exit 1; }
swift format lint --strict --parallel "${files[@]}"
echo "swift format lint: ${#files[@]} files, no findings"
