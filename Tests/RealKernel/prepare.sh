#!/bin/bash
# prepare.sh - set up everything run-guest.sh needs to boot a real Debian kernel
# under QEMU (TCG) with an emulated SR-IOV NVMe device and VFIO.
#
# Idempotent: a second run only checks and exits quickly.
#
#   1. installs the host packages that are missing (apt-get update only then);
#   2. downloads the Debian kernel package that linux-image-amd64 depends on
#      (apt-get download, never installed) and unpacks it with dpkg -x into
#      $VM_CACHE/kernel/<kver>/ ; runs depmod on the unpacked tree;
#   3. builds a busybox initramfs ($VM_CACHE/initrd-<kver>.gz) whose /init is
#      initramfs-init.sh from this folder, with the needed modules;
#   4. creates the host directories the guest mounts over (/var/lib/vgpuctl,
#      /out, /lib/modules): the host root is shared read-only, so a mount point
#      must already exist on the host;
#   5. writes $VM_CACHE/vm.env, read by run-guest.sh.
#
# Environment:
#   VM_CACHE            cache folder (default: <repo>/.vm-cache, git-ignored)
#   VGTEST_KERNEL_PKG   kernel package to use (default: what linux-image-amd64
#                       depends on, e.g. linux-image-6.1.0-56-amd64)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
VM_CACHE=${VM_CACHE:-$REPO/.vm-cache}
export DEBIAN_FRONTEND=noninteractive

log() { printf 'prepare: %s\n' "$*" >&2; }
die() { printf 'prepare: ERROR: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (installs packages, creates host mount points)"

# Modules whose dependency closure goes into the initramfs, in load order.
# The first six are the recipe from the reference; vfio and mdev are added so
# /dev/vfio/vfio and the mdev bus exist even if a later list changes.
MODULES="nvme vfio-pci vfio_iommu_type1 9p 9pnet_virtio virtio_pci vfio mdev"

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
# python3: the scenario scripts and fake QMP peers the real-kernel tests run.
PKGS="qemu-system-x86 busybox-static kmod cpio gzip pciutils perl-base coreutils python3"
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

resolve_kernel_pkg() {
    apt-cache depends linux-image-amd64 2>/dev/null \
        | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'
}

KPKG=${VGTEST_KERNEL_PKG:-}
if [ -z "$KPKG" ]; then
    KPKG=$(resolve_kernel_pkg || true)
    if [ -z "$KPKG" ]; then
        # Fresh machine without package lists.
        apt_update_once
        KPKG=$(resolve_kernel_pkg || true)
    fi
    [ -n "$KPKG" ] || die "cannot find the package linux-image-amd64 depends on"
fi
# The package name carries the kernel ABI name: linux-image-6.1.0-56-amd64.
KVER=${KPKG#linux-image-}
KROOT=$VM_CACHE/kernel/$KVER
VMLINUZ=$KROOT/boot/vmlinuz-$KVER
MODDIR=$KROOT/lib/modules/$KVER

if [ -f "$KROOT/.complete" ] && [ -f "$VMLINUZ" ]; then
    log "kernel $KVER already unpacked in $KROOT"
else
    deb=$(ls "$VM_CACHE/debs/${KPKG}_"*.deb 2>/dev/null | tail -n 1 || true)
    if [ -z "$deb" ]; then
        log "apt-get download $KPKG"
        # apt drops privileges to _apt for downloads; let it write here.
        chmod 0777 "$VM_CACHE/debs" 2>/dev/null || true
        if ! (cd "$VM_CACHE/debs" && apt-get download -q "$KPKG" >/dev/null 2>&1); then
            # Lists may be stale (superseded version is no longer on the mirror).
            APT_UPDATED=0
            apt_update_once
            (cd "$VM_CACHE/debs" && apt-get download -q "$KPKG" >/dev/null 2>&1) \
                || die "apt-get download $KPKG failed"
        fi
        deb=$(ls "$VM_CACHE/debs/${KPKG}_"*.deb | tail -n 1)
    fi
    log "unpacking $(basename "$deb")"
    rm -rf "$KROOT.tmp" "$KROOT"
    dpkg -x "$deb" "$KROOT.tmp"
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
    done | awk '$1 == "insmod" { print $2 }' | awk '!seen[$0]++'
)
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
# Kernels from earlier Debian kernel ABIs (each unpacked tree is ~400 MB).
for d in "$VM_CACHE"/kernel/*; do
    [ -e "$d" ] || continue
    case "$(basename "$d")" in
        "$KVER") ;;
        *) log "removing old $d"; rm -rf "$d" ;;
    esac
done
for f in "$VM_CACHE"/debs/linux-image-*.deb "$VM_CACHE"/initrd-*; do
    [ -e "$f" ] || continue
    case "$(basename "$f")" in
        "${KPKG}_"*|"initrd-$KVER.gz"|"initrd-$KVER.stamp") ;;
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
cat > "$VM_CACHE/vm.env.tmp" <<EOF
# written by Tests/RealKernel/prepare.sh
VGTEST_KPKG='$KPKG'
VGTEST_KVER='$KVER'
VGTEST_KERNEL='$VMLINUZ'
VGTEST_INITRD='$INITRD'
VGTEST_MODROOT='$KROOT'
EOF
mv "$VM_CACHE/vm.env.tmp" "$VM_CACHE/vm.env"
log "ready: kernel $KVER ($VMLINUZ), initramfs $INITRD"
