#!/bin/bash
# install-libvirt-schemas.sh - unpacks sid's libvirt domain schemas (libvirt 12.x knows
# <acpi nodeset> inside <hostdev>, added in 11.8) next to the system's libvirt 9.0 ones.
#
# Downloads libvirt-common from sid with Tests/RealKernel/apt-suite.sh (a separate sources list;
# the machine's apt sources are not changed) and unpacks it with `dpkg -x` (never installed)
# into $VGTEST_CACHE/libvirt-<version>/. Prints the schema directory (holding domain.rng) on
# stdout. Idempotent. A failed download fails loudly (exit 1). Needs root.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${VGTEST_CACHE:-/var/cache/vgpuctl-tests}
die() { printf 'install-libvirt-schemas: ERROR: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (downloads into $CACHE)"
mkdir -p "$CACHE/debs"
chmod 0777 "$CACHE/debs"
exec 7>"$CACHE/.libvirt-schemas.lock"
flock 7
APT="$REPO/Tests/RealKernel/apt-suite.sh"
version=$("$APT" sid "$CACHE/apt" policy libvirt-common | awk '$1 == "Candidate:" { print $2 }')
case "$version" in
    1[2-9].*) ;;
    *) die "sid offers libvirt-common '$version', not a libvirt 12 or newer" ;;
esac
DEST=$CACHE/libvirt-$version
if [ ! -f "$DEST/.complete" ]; then
    f=$(ls "$CACHE/debs/libvirt-common_${version}_"*.deb 2>/dev/null | tail -n 1 || true)
    if [ -z "$f" ]; then
        (cd "$CACHE/debs" && "$APT" sid "$CACHE/apt" download "libvirt-common=$version" >/dev/null) \
            || die "download of libvirt-common $version from sid failed"
        f=$(ls "$CACHE/debs/libvirt-common_${version}_"*.deb | tail -n 1)
    fi
    rm -rf "$DEST.tmp"
    dpkg -x "$f" "$DEST.tmp"
    [ -f "$DEST.tmp/usr/share/libvirt/schemas/domain.rng" ] || die "no domain.rng in $f"
    rm -rf "$DEST"
    mv "$DEST.tmp" "$DEST"
    touch "$DEST/.complete"
fi
echo "$DEST/usr/share/libvirt/schemas"
