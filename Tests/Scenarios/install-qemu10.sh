#!/bin/bash
# install-qemu10.sh - unpacks bookworm-backports' QEMU 10 next to the system's QEMU 7.2.
#
# The system QEMU 7.2 (Debian 12) stays the one on PATH: other tests need it. QEMU 10 comes
# from bookworm-backports (built for Debian 12, so it runs on this machine's libraries), is
# downloaded with Tests/RealKernel/apt-suite.sh (a separate sources list; the machine's apt
# sources are not changed) and unpacked with `dpkg -x` (never installed) into
#   $VGTEST_CACHE/qemu-<version>/root
# with a wrapper $VGTEST_CACHE/qemu-<version>/bin/qemu-system-x86_64 that points the binary at
# its own firmware (-L) and accelerator/device modules (QEMU_MODULE_DIR). The Debian libraries
# it links against are installed from bookworm with apt-get when missing.
#
# Prints the wrapper's path on stdout. Idempotent (a second run only checks). A failed
# download or a binary that does not run fails loudly (exit 1).
#
# Environment: VGTEST_CACHE (default /var/cache/vgpuctl-tests), shared by every clone.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${VGTEST_CACHE:-/var/cache/vgpuctl-tests}
SUITE=bookworm-backports
PKGS=(qemu-system-x86 qemu-system-common qemu-system-data)
log() { printf 'install-qemu10: %s\n' "$*" >&2; }
die() { printf 'install-qemu10: ERROR: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (downloads into $CACHE, installs libraries)"

mkdir -p "$CACHE/debs"
chmod 0777 "$CACHE/debs"
exec 7>"$CACHE/.qemu10.lock"
flock 7

APT="$REPO/Tests/RealKernel/apt-suite.sh"
version=$("$APT" "$SUITE" "$CACHE/apt" policy qemu-system-x86 | awk '$1 == "Candidate:" { print $2 }')
case "$version" in
    1:10.*) ;;
    *) die "$SUITE offers qemu-system-x86 '$version', not a QEMU 10" ;;
esac
upstream=${version#1:}
upstream=${upstream%%+*}
DEST=$CACHE/qemu-$upstream
WRAP=$DEST/bin/qemu-system-x86_64

# A new wrapper layout: unpack again.
[ -f "$DEST/.complete" ] && ! grep -q unshare "$WRAP" && rm -f "$DEST/.complete"
if [ ! -f "$DEST/.complete" ]; then
    for p in "${PKGS[@]}"; do
        f=$(ls "$CACHE/debs/${p}_"*"~bpo12"*.deb 2>/dev/null | tail -n 1 || true)
        if [ -z "$f" ]; then
            log "downloading $p $version from $SUITE"
            (cd "$CACHE/debs" && "$APT" "$SUITE" "$CACHE/apt" download "$p=$version" >/dev/null) \
                || die "download of $p $version failed"
        fi
    done
    rm -rf "$DEST.tmp"
    mkdir -p "$DEST.tmp/bin"
    for p in "${PKGS[@]}"; do
        f=$(ls "$CACHE/debs/${p}_"*"~bpo12"*.deb | tail -n 1)
        dpkg -x "$f" "$DEST.tmp/root"
    done
    # The wrapper names the final paths; the tree moves there below. QEMU loads
    # modules from its build-time directory too, where the system QEMU 7.2 keeps
    # its own (QEMU 10 aborts on them: "Only modules from the same build can be
    # loaded"); so it runs in a private mount namespace in which that directory
    # and /usr/share/qemu are QEMU 10's. Needs root (the tests run as root).
    cat > "$DEST.tmp/bin/qemu-system-x86_64" <<EOF
#!/bin/sh
# QEMU $version from $SUITE, unpacked by Tests/Scenarios/install-qemu10.sh (not installed).
exec unshare --mount --propagation private /bin/sh -c '
    mount --bind $DEST/root/usr/lib/x86_64-linux-gnu/qemu /usr/lib/x86_64-linux-gnu/qemu &&
    mount --bind $DEST/root/usr/share/qemu /usr/share/qemu || exit 1
    QEMU_MODULE_DIR=$DEST/root/usr/lib/x86_64-linux-gnu/qemu
    export QEMU_MODULE_DIR
    exec $DEST/root/usr/bin/qemu-system-x86_64 "\$@"' qemu-system-x86_64 "\$@"
EOF
    chmod 0755 "$DEST.tmp/bin/qemu-system-x86_64"
    rm -rf "$DEST"
    mv "$DEST.tmp" "$DEST"
    touch "$DEST/.complete"
fi

# The wrapper binds over these; they exist once the system QEMU 7.2 is installed.
for d in /usr/lib/x86_64-linux-gnu/qemu /usr/share/qemu; do mkdir -p "$d"; done

# Libraries from bookworm the binary and its modules need (the system QEMU 7.2 pulls most of
# them already; qemu-system-common's modules need the last four).
missing_libs() {
    for f in "$DEST/root/usr/bin/qemu-system-x86_64" "$DEST"/root/usr/lib/x86_64-linux-gnu/qemu/*.so; do
        ldd "$f" 2>/dev/null || true
    done | awk '/not found/ { print $1 }' | sort -u
}
libs=$(missing_libs)
if [ -n "$libs" ]; then
    pkgs=""
    for l in $libs; do
        case "$l" in
            libbpf.so.1) pkgs="$pkgs libbpf1" ;;
            libpmem.so.1) pkgs="$pkgs libpmem1" ;;
            libfuse3.so.3) pkgs="$pkgs libfuse3-3" ;;
            libcapstone.so.4) pkgs="$pkgs libcapstone4" ;;
            libvdeplug.so.2) pkgs="$pkgs libvdeplug2" ;;
            liburing.so.2) pkgs="$pkgs liburing2" ;;
            libibverbs.so.1) pkgs="$pkgs libibverbs1" ;;
            librdmacm.so.1) pkgs="$pkgs librdmacm1" ;;
            libslirp.so.0) pkgs="$pkgs libslirp0" ;;
            libaio.so.1) pkgs="$pkgs libaio1" ;;
            libnuma.so.1) pkgs="$pkgs libnuma1" ;;
            libfdt.so.1) pkgs="$pkgs libfdt1" ;;
            libseccomp.so.2) pkgs="$pkgs libseccomp2" ;;
            libjpeg.so.62) pkgs="$pkgs libjpeg62-turbo" ;;
            libpng16.so.16) pkgs="$pkgs libpng16-16" ;;
            libpixman-1.so.0) pkgs="$pkgs libpixman-1-0" ;;
            libsasl2.so.2) pkgs="$pkgs libsasl2-2" ;;
            libcacard.so.0) pkgs="$pkgs libcacard0" ;;
            libusbredirparser.so.1) pkgs="$pkgs libusbredirparser1" ;;
            libusb-1.0.so.0) pkgs="$pkgs libusb-1.0-0" ;;
            libbrlapi.so.0.8) pkgs="$pkgs libbrlapi0.8" ;;
            *) die "QEMU 10 needs $l, which no bookworm package is known for here" ;;
        esac
    done
    log "installing from bookworm:$pkgs"
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086
    apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends $pkgs >/dev/null \
        || { apt-get -o DPkg::Lock::Timeout=600 update -qq && apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends $pkgs >/dev/null; } \
        || die "apt-get install$pkgs failed"
    libs=$(missing_libs)
    [ -z "$libs" ] || die "QEMU 10 still misses: $libs"
fi

out=$("$WRAP" -version 2>&1) || die "$WRAP -version failed: $out"
"$WRAP" -device help >/dev/null 2>&1 || die "$WRAP -device help failed: $("$WRAP" -device help 2>&1 | tail -n 3)"
case "$out" in
    "QEMU emulator version 10."*) ;;
    *) die "$WRAP -version printed: $out" ;;
esac
echo "$WRAP"
