#!/bin/bash
# Fetches the kubelet's own device-plugin API (api.proto, k8s.io/kubelet v1beta1) from Debian's
# package golang-github-kubernetes-kubelet-dev (suite sid, architecture all) into a cache outside
# the clone, and prints the path of api.proto. Nothing is installed: the package is fetched with
# apt-get download through a private apt configuration (sid next to the system's own mirror, whose
# address is read from the system's sources), then unpacked with dpkg -x.
# Fails loudly (exit 1, one line on stderr) when the download fails.
set -euo pipefail
CACHE="${VGPUCTL_TEST_CACHE:-/var/cache/vgpuctl-tests}/kubelet-proto"
PKG=golang-github-kubernetes-kubelet-dev
PROTO_REL=usr/share/gocode/src/k8s.io/kubelet/pkg/apis/deviceplugin/v1beta1/api.proto
die() { echo "fetch-kubelet-proto: $*" >&2; exit 1; }

if [ -f "$CACHE/root/$PROTO_REL" ]; then echo "$CACHE/root/$PROTO_REL"; exit 0; fi
mkdir -p "$CACHE/apt/lists/partial" "$CACHE/apt/archives/partial" "$CACHE/debs" "$CACHE/root"

# The system's Debian mirror (deb822 or one-line sources).
MIRROR=""
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    MIRROR=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
fi
if [ -z "$MIRROR" ] && [ -f /etc/apt/sources.list ]; then
    MIRROR=$(awk '$1 == "deb" && $2 !~ /^\[/ {print $2; exit} $1 == "deb" && $2 ~ /^\[/ {print $3; exit}' /etc/apt/sources.list)
fi
[ -n "$MIRROR" ] || die "cannot find the system's Debian mirror in /etc/apt/sources.list(.d)"
MIRROR="${MIRROR%-security}"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
echo "deb [signed-by=$KEYRING] $MIRROR sid main" > "$CACHE/apt/sources.list"
APT=(-o "Dir::Etc::SourceList=$CACHE/apt/sources.list" -o "Dir::Etc::SourceParts=-"
     -o "Dir::State::Lists=$CACHE/apt/lists" -o "Dir::Cache=$CACHE/apt" -o "Dir::Cache::Archives=$CACHE/apt/archives"
     -o "APT::Architectures::=amd64" -o "APT::Architectures::=all" -o "Debug::NoLocking=1")
apt-get "${APT[@]}" -q update >"$CACHE/apt-update.log" 2>&1 \
    || die "apt-get update for sid failed (see $CACHE/apt-update.log)"
(cd "$CACHE/debs" && apt-get "${APT[@]}" -q download "$PKG" >"$CACHE/apt-download.log" 2>&1) \
    || die "apt-get download $PKG (sid) failed (see $CACHE/apt-download.log)"
DEB=$(ls "$CACHE"/debs/${PKG}_*.deb 2>/dev/null | head -n1)
[ -n "$DEB" ] || die "apt-get download $PKG left no .deb in $CACHE/debs"
dpkg -x "$DEB" "$CACHE/root" || die "dpkg -x $DEB failed"
[ -f "$CACHE/root/$PROTO_REL" ] || die "$DEB has no $PROTO_REL"
echo "$CACHE/root/$PROTO_REL"
