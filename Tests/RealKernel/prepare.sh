#!/bin/bash
# prepare.sh - set up everything run-guest.sh needs to boot a real Debian kernel
# under QEMU (TCG) with an emulated SR-IOV NVMe device and VFIO.
#
# Idempotent: a second run only checks and exits quickly.
#
#   1. installs the host packages that are missing (apt-get update only then);
#   2. downloads the Debian kernel package that linux-image-amd64 depends on in
#      the chosen suite (apt-get download, never installed; bookworm through the
#      machine's own sources, trixie and sid through apt-suite.sh's separate
#      sources list) and unpacks it with dpkg -x into $VM_CACHE/kernel/<kver>/ ;
#      runs depmod on the unpacked tree. sid splits a kernel into
#      linux-image-<kver> (empty) + linux-binary/-modules/-base-<kver>: the
#      image's own linux-*-<kver> dependencies are downloaded and unpacked too;
#   3. builds a busybox initramfs ($VM_CACHE/initrd-<kver>.gz) whose /init is
#      initramfs-init.sh from this folder, with the needed modules;
#   4. creates the host directories the guest mounts over (/var/lib/vgpuctl,
#      /out, /lib/modules): the host root is shared read-only, so a mount point
#      must already exist on the host;
#   5. writes $VM_CACHE/vm-<suite>.env, read by run-guest.sh.
#
# Environment:
#   VM_CACHE            cache folder (default: /var/cache/vgpuctl-tests, outside
#                       the clone, so a fresh clone reuses the downloads)
#   VGTEST_SUITE        bookworm (default: Debian 12, 6.1), trixie (Debian 13,
#                       6.12) or sid (the newest Debian kernel)
#   VGTEST_KERNEL_PKG   kernel package to use (default: what linux-image-amd64
#                       depends on in the suite, e.g. linux-image-6.1.0-56-amd64)
# A failed download fails loudly (exit 1).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
VM_CACHE=${VM_CACHE:-/var/cache/vgpuctl-tests}
SUITE=${VGTEST_SUITE:-bookworm}
case "$SUITE" in bookworm|trixie|sid) ;; *) echo "prepare: ERROR: VGTEST_SUITE must be bookworm, trixie or sid, not '$SUITE'" >&2; exit 1 ;; esac
APT_SUITE=$HERE/apt-suite.sh
export DEBIAN_FRONTEND=noninteractive

log() { printf 'prepare: %s\n' "$*" >&2; }
die() { printf 'prepare: ERROR: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (installs packages, creates host mount points)"

# Modules whose dependency closure goes into the initramfs, in load order.
# The first six are the recipe from the reference; vfio and mdev are added so
# /dev/vfio/vfio and the mdev bus exist even if a later list changes.
MODULES="nvme vfio-pci vfio_iommu_type1 9p 9pnet_virtio virtio_pci vfio mdev"
# Loaded when the kernel has them as modules (Debian's 6.1/6.12/7.2 configs
# leave IOMMUFD and FWCTL unset; a kernel that has them gets them loaded).
OPTIONAL_MODULES="iommufd fwctl"

mkdir -p "$VM_CACHE"
# One prepare at a time per cache (parallel CI jobs, a test runner calling us).
exec 9>"$VM_CACHE/.prepare.lock"
flock 9

# ---------------------------------------------------------------- packages
APT_UPDATED=0
apt_update_once() {
    if [ "$APT_UPDATED" = 0 ]; then
        log "apt-get update"
        apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null
        APT_UPDATED=1
    fi
}

pkg_installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

# qemu-system-x86: the VM; busybox-static: the initramfs userland;
# kmod: modprobe/depmod for the unpacked kernel; cpio+gzip: the initramfs;
# pciutils: lspci (used by guest scripts through the shared host root);
# perl-base: used by the guest scripts to report exact errno values;
# xz-utils, zstd: newer kernels' compressed modules;
# python3: the scenario scripts and fake QMP peers the real-kernel tests run.
PKGS="qemu-system-x86 busybox-static kmod cpio gzip xz-utils zstd pciutils perl-base coreutils python3"
missing=""
for p in $PKGS; do
    pkg_installed "$p" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    apt_update_once
    log "apt-get install$missing"
    # One apt at a time among the repo's installers; wait up to 10 minutes for other holders.
    mkdir -p /var/lock
    exec 8>/var/lock/vgpuctl-apt.lock
    flock -w 600 8
    apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends $missing >/dev/null
    exec 8>&-
fi
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing after install"
BUSYBOX=/bin/busybox
[ -x "$BUSYBOX" ] || die "$BUSYBOX missing after install"

# ---------------------------------------------------------------- kernel
mkdir -p "$VM_CACHE/debs" "$VM_CACHE/kernel"

# apt-cache / apt-get download for the chosen suite (the machine's own lists
# for bookworm, a separate list under $VM_CACHE/apt for the others).
suite_cache() {
    if [ "$SUITE" = bookworm ]; then apt-cache "$@"; else "$APT_SUITE" "$SUITE" "$VM_CACHE/apt" "$@"; fi
}
suite_download() {
    if [ "$SUITE" = bookworm ]; then apt-get download -q "$@"; else "$APT_SUITE" "$SUITE" "$VM_CACHE/apt" download "$@"; fi
}
resolve_kernel_pkg() {
    suite_cache depends linux-image-amd64 2>/dev/null \
        | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'
}

KPKG=${VGTEST_KERNEL_PKG:-}
if [ -z "$KPKG" ]; then
    KPKG=$(resolve_kernel_pkg || true)
    if [ -z "$KPKG" ]; then
        # Fresh machine without package lists (or stale lists of another suite).
        if [ "$SUITE" = bookworm ]; then apt_update_once; else "$APT_SUITE" "$SUITE" "$VM_CACHE/apt" update; fi
        KPKG=$(resolve_kernel_pkg || true)
    fi
    [ -n "$KPKG" ] || die "cannot find the package linux-image-amd64 depends on in $SUITE"
fi
# The package name carries the kernel ABI name: linux-image-6.1.0-56-amd64.
KVER=${KPKG#linux-image-}
KROOT=$VM_CACHE/kernel/$KVER
VMLINUZ=$KROOT/boot/vmlinuz-$KVER
MODDIR=$KROOT/lib/modules/$KVER

if [ -f "$KROOT/.complete" ] && [ -f "$VMLINUZ" ]; then
    log "kernel $KVER already unpacked in $KROOT"
else
    download() { # PKG: into $VM_CACHE/debs unless there; prints the .deb
        local d
        d=$(ls "$VM_CACHE/debs/${1}_"*.deb 2>/dev/null | tail -n 1 || true)
        if [ -z "$d" ]; then
            log "apt-get download $1 ($SUITE)"
            # apt drops privileges to _apt for downloads; let it write here.
            chmod 0777 "$VM_CACHE/debs" 2>/dev/null || true
            if ! (cd "$VM_CACHE/debs" && suite_download "$1" >/dev/null 2>&1); then
                # Lists may be stale (superseded version is no longer on the mirror).
                if [ "$SUITE" = bookworm ]; then APT_UPDATED=0; apt_update_once; else "$APT_SUITE" "$SUITE" "$VM_CACHE/apt" update; fi
                (cd "$VM_CACHE/debs" && suite_download "$1" >&2) || die "apt-get download $1 ($SUITE) failed"
            fi
            d=$(ls "$VM_CACHE/debs/${1}_"*.deb | tail -n 1)
        fi
        echo "$d"
    }
    deb=$(download "$KPKG")
    debs=$deb
    # sid: the image package only depends on linux-binary/-modules/-base-<kver>.
    # (KVER holds a '+': compare strings, not regular expressions.)
    for dep in $(dpkg-deb -f "$deb" Depends | tr ',|' '\n\n' \
            | awk -v k="-$KVER" -v self="$KPKG" '{ n = $1 } n != self && n ~ /^linux-[a-z]+-/ && substr(n, length(n) - length(k) + 1) == k { print n }'); do
        debs="$debs $(download "$dep")"
    done
    rm -rf "$KROOT.tmp" "$KROOT"
    for d in $debs; do
        log "unpacking $(basename "$d")"
        dpkg -x "$d" "$KROOT.tmp"
    done
    # Newer packages put the kernel and modules under /usr/lib/modules/<kver>
    # (vmlinuz and config inside it): give them the layout the rest expects.
    if [ -d "$KROOT.tmp/usr/lib/modules/$KVER" ] && [ ! -d "$KROOT.tmp/lib/modules/$KVER" ]; then
        mkdir -p "$KROOT.tmp/lib/modules" "$KROOT.tmp/boot"
        mv "$KROOT.tmp/usr/lib/modules/$KVER" "$KROOT.tmp/lib/modules/$KVER"
    fi
    for f in vmlinuz config System.map; do
        if [ ! -e "$KROOT.tmp/boot/$f-$KVER" ] && [ -e "$KROOT.tmp/lib/modules/$KVER/$f" ]; then
            mkdir -p "$KROOT.tmp/boot"
            ln "$KROOT.tmp/lib/modules/$KVER/$f" "$KROOT.tmp/boot/$f-$KVER"
        fi
    done
    # The package ships no modules.dep (its postinst would create it).
    depmod -b "$KROOT.tmp" "$KVER"
    touch "$KROOT.tmp/.complete"
    mv "$KROOT.tmp" "$KROOT"
fi
[ -f "$VMLINUZ" ] || die "no $VMLINUZ in the kernel package"
[ -d "$MODDIR" ] || die "no $MODDIR in the kernel package"
[ -f "$MODDIR/modules.dep" ] || depmod -b "$KROOT" "$KVER"

# ---------------------------------------------------------------- initramfs
# Ordered, de-duplicated list of module files (paths relative to $MODDIR).
modlist=$(
    for m in $MODULES; do
        modprobe -d "$KROOT" -S "$KVER" --show-depends "$m" \
            || die "modprobe --show-depends $m failed"
    done
    for m in $OPTIONAL_MODULES; do
        modprobe -d "$KROOT" -S "$KVER" --show-depends "$m" 2>/dev/null || true
    done
)
modlist=$(echo "$modlist" | awk '$1 == "insmod" { print $2 }' | awk '!seen[$0]++')
[ -n "$modlist" ] || die "empty module list"

INITRD=$VM_CACHE/initrd-$KVER.gz
STAMP_FILE=$VM_CACHE/initrd-$KVER.stamp
stamp=$(
    {
        echo "kver=$KVER"
        echo "$modlist"
        sha256sum "$HERE/initramfs-init.sh" "$BUSYBOX" | awk '{print $1}'
        echo "format=3"
    } | sha256sum | awk '{print $1}'
)
if [ -f "$INITRD" ] && [ -f "$STAMP_FILE" ] && [ "$(cat "$STAMP_FILE")" = "$stamp" ]; then
    log "initramfs up to date: $INITRD"
else
    log "building initramfs $INITRD"
    stage=$(mktemp -d "$VM_CACHE/initramfs.XXXXXX")
    trap 'rm -rf "$stage"' EXIT
    mkdir -p "$stage"/{bin,dev,proc,sys,mnt,out,tmp,lib/modules}
    cp "$BUSYBOX" "$stage/bin/busybox"
    ln -s busybox "$stage/bin/sh"
    install -m 0755 "$HERE/initramfs-init.sh" "$stage/init"
    : > "$stage/lib/modules/load.list"
    for path in $modlist; do
        name=$(basename "$path")
        case "$name" in
            # busybox insmod cannot be trusted with compressed modules:
            # decompress at build time so the guest only sees plain .ko files.
            *.ko.xz)  name=${name%.xz};  xz -dc "$path" > "$stage/lib/modules/$name" ;;
            *.ko.zst) name=${name%.zst}; zstd -qdc "$path" > "$stage/lib/modules/$name" ;;
            *.ko.gz)  name=${name%.gz};  gzip -dc "$path" > "$stage/lib/modules/$name" ;;
            *.ko)     cp "$path" "$stage/lib/modules/$name" ;;
            *) die "unexpected module file $path" ;;
        esac
        echo "$name" >> "$stage/lib/modules/load.list"
    done
    echo "$KVER" > "$stage/kver"
    # A few device nodes in case devtmpfs is mounted late.
    mknod -m 600 "$stage/dev/console" c 5 1
    mknod -m 666 "$stage/dev/null" c 1 3
    (cd "$stage" && find . -print0 | LC_ALL=C sort -z \
        | cpio --null -o -H newc --owner=0:0 --quiet) | gzip -9 > "$INITRD.tmp"
    mv "$INITRD.tmp" "$INITRD"
    echo "$stamp" > "$STAMP_FILE"
    rm -rf "$stage"
    trap - EXIT
fi

# ---------------------------------------------------------------- prune
# Kernels from earlier Debian kernel ABIs (each unpacked tree is ~400 MB): keep
# the ones a vm-<suite>.env names and the one prepared now.
keep=" $KVER "
for e in "$VM_CACHE"/vm-*.env; do
    [ -f "$e" ] || continue
    [ "$e" = "$VM_CACHE/vm-$SUITE.env" ] && continue
    keep="$keep $(sed -n "s/^VGTEST_KVER='\(.*\)'$/\1/p" "$e") "
done
for d in "$VM_CACHE"/kernel/*; do
    [ -e "$d" ] || continue
    case "$keep" in
        *" $(basename "$d") "*) ;;
        *) log "removing old $d"; rm -rf "$d" ;;
    esac
done
for f in "$VM_CACHE"/debs/linux-*.deb "$VM_CACHE"/initrd-*; do
    [ -e "$f" ] || continue
    k=$(basename "$f")
    k=${k%%_*}; k=${k#initrd-}; k=${k%.gz}; k=${k%.stamp}
    k=${k#linux-image-}; k=${k#linux-binary-}; k=${k#linux-modules-}; k=${k#linux-base-}
    case "$keep" in
        *" $k "*) ;;
        *) log "removing old $f"; rm -f "$f" ;;
    esac
done

# ---------------------------------------------------------------- host mount points
# The guest sees the host root read-only; it can only mount over directories
# that already exist on the host.
for d in /var/lib/vgpuctl /out /lib/modules /tmp /run /proc /sys /dev; do
    if [ ! -d "$d" ]; then
        log "creating host mount point $d"
        mkdir -p "$d"
    fi
done

# ---------------------------------------------------------------- env for run-guest.sh
cat > "$VM_CACHE/vm-$SUITE.env.tmp" <<EOF
# written by Tests/RealKernel/prepare.sh
VGTEST_SUITE='$SUITE'
VGTEST_KPKG='$KPKG'
VGTEST_KVER='$KVER'
VGTEST_KERNEL='$VMLINUZ'
VGTEST_INITRD='$INITRD'
VGTEST_MODROOT='$KROOT'
EOF
mv "$VM_CACHE/vm-$SUITE.env.tmp" "$VM_CACHE/vm-$SUITE.env"
log "ready: $SUITE kernel $KVER ($VMLINUZ), initramfs $INITRD"
