#!/bin/bash
# install-libvirt11.sh - unpacks bookworm-backports' libvirt 11 (libvirtd, virsh, the QEMU
# driver) next to the system's libvirt 9.0 clients, for the real-libvirtd hook test.
#
# Downloads the packages with Tests/RealKernel/apt-suite.sh (a separate sources list; the
# machine's apt sources are not changed) and unpacks them with `dpkg -x` (never installed) into
# $VGTEST_CACHE/libvirt-<version>/root. They run from there with
#   LD_LIBRARY_PATH=<root>/usr/lib/x86_64-linux-gnu
#   LIBVIRT_DRIVER_DIR=<root>/usr/lib/x86_64-linux-gnu/libvirt/connection-driver
# (libvirt's own override of its driver directory); configuration, state and hooks stay at
# libvirt's compiled-in paths (/etc/libvirt, /run/libvirt, /var/lib/libvirt), which the test
# covers with tmpfs mounts inside the throw-away real-kernel guest. Prints <root> on stdout.
# Idempotent. A failed download or a binary that does not run fails loudly (exit 1).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${VGTEST_CACHE:-/var/cache/vgpuctl-tests}
SUITE=bookworm-backports
PKGS=(libvirt0 libvirt-common libvirt-daemon libvirt-daemon-common libvirt-daemon-driver-qemu libvirt-daemon-log libvirt-clients)
die() { printf 'install-libvirt11: ERROR: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (downloads into $CACHE)"
# The system's libvirt 9.0 clients bring the shared libraries libvirt 11 links (libssh-4 among
# them); install them first, or the library check below races the test that installs them.
bash "$HERE/install-hypervisor-tools.sh" >&2 || die "install-hypervisor-tools.sh failed"
mkdir -p "$CACHE/debs"
chmod 0777 "$CACHE/debs"
exec 7>"$CACHE/.libvirt11.lock"
flock 7
APT="$REPO/Tests/RealKernel/apt-suite.sh"
version=$("$APT" "$SUITE" "$CACHE/apt" policy libvirt-daemon | awk '$1 == "Candidate:" { print $2 }')
case "$version" in
    11.*) ;;
    *) die "$SUITE offers libvirt-daemon '$version', not a libvirt 11" ;;
esac
DEST=$CACHE/libvirt-$version
if [ ! -f "$DEST/.complete" ]; then
    rm -rf "$DEST.tmp"
    mkdir -p "$DEST.tmp/root"
    for p in "${PKGS[@]}"; do
        f=$(ls "$CACHE/debs/${p}_${version}_"*.deb 2>/dev/null | tail -n 1 || true)
        if [ -z "$f" ]; then
            (cd "$CACHE/debs" && "$APT" "$SUITE" "$CACHE/apt" download "$p=$version" >/dev/null) \
                || die "download of $p $version from $SUITE failed"
            f=$(ls "$CACHE/debs/${p}_${version}_"*.deb | tail -n 1)
        fi
        dpkg -x "$f" "$DEST.tmp/root"
    done
    rm -rf "$DEST"
    mv "$DEST.tmp" "$DEST"
    touch "$DEST/.complete"
fi
R=$DEST/root
L=$R/usr/lib/x86_64-linux-gnu
missing=$(for f in "$R/usr/sbin/libvirtd" "$R/usr/bin/virsh" "$L"/libvirt/connection-driver/*.so; do
    LD_LIBRARY_PATH=$L ldd "$f" 2>/dev/null || true
done | awk '/not found/ { print $1 }' | sort -u)
[ -z "$missing" ] || die "libvirt $version needs libraries this machine lacks: $missing"
out=$(LD_LIBRARY_PATH=$L "$R/usr/sbin/libvirtd" --version 2>&1) || die "libvirtd --version failed: $out"
case "$out" in
    *"(libvirt) 11."*) ;;
    *) die "libvirtd --version printed: $out" ;;
esac
echo "$R"
