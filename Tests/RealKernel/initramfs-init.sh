#!/bin/sh
# /init of the test VM's initramfs (runs under busybox, as PID 1).
# Built into the initramfs by prepare.sh; not meant to run on the host.
#
# Loads the modules listed in /lib/modules/load.list, mounts the host root
# (9p tag "hostroot", read-only) on /mnt and the result share (9p tag "out",
# writable) on /out, prepares /mnt for a chroot, runs the script named by
# vgtest.script= on the kernel command line with /bin/sh inside the chroot,
# stores its output in /out/output.log and its exit status in /out/rc, then
# powers off. It powers off whatever happens; if PID 1 itself died, the kernel
# would panic, and panic=-1 plus QEMU's -no-reboot end the VM as well.

PATH=/bin
export PATH
/bin/busybox --install -s /bin

say() { echo "vgtest-init: $*" > /dev/console 2>&1 || echo "vgtest-init: $*"; }

finish() {
    sync
    [ -n "$1" ] && say "$1"
    umount /mnt/out 2>/dev/null
    umount /out 2>/dev/null
    sync
    poweroff -f
    # Not reached; if poweroff failed, make PID 1 exit (kernel panic -> reboot
    # -> QEMU exits because of -no-reboot).
    exit 1
}
trap 'finish "terminated by signal"' INT TERM HUP

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null

SCRIPT=""
MODROOT=""
TMPFS_EXTRA=""
ROOTCACHE=loose
for arg in $(cat /proc/cmdline); do
    case "$arg" in
        vgtest.script=*) SCRIPT=${arg#vgtest.script=} ;;
        vgtest.modroot=*) MODROOT=${arg#vgtest.modroot=} ;;
        vgtest.rootcache=*) ROOTCACHE=${arg#vgtest.rootcache=} ;;
        vgtest.tmpfs=*) TMPFS_EXTRA=$(echo "${arg#vgtest.tmpfs=}" | tr ',' ' ') ;;
        vgtest.keep=*) KEEP=${arg#vgtest.keep=} ;;
    esac
done
KVER=$(uname -r)
say "kernel $KVER, script '$SCRIPT'"

# ---- modules (failures are reported, not fatal: e.g. crct10dif-pclmul
# needs a CPU feature TCG may not offer, and nvme works without it)
while read -r m; do
    [ -n "$m" ] || continue
    out=$(insmod "/lib/modules/$m" 2>&1) || say "insmod $m failed: $out"
done < /lib/modules/load.list

# ---- 9p shares (the virtio devices may need a moment after insmod)
mount_9p() { # tag dir opts
    i=0
    while [ $i -lt 50 ]; do
        if mount -t 9p -o "trans=virtio,version=9p2000.L,msize=262144,$3" "$1" "$2" 2>/dev/null; then
            return 0
        fi
        i=$((i + 1))
        sleep 0.1
    done
    mount -t 9p -o "trans=virtio,version=9p2000.L,msize=262144,$3" "$1" "$2"
}
mkdir -p /out
if ! mount_9p out /out rw; then
    finish "cannot mount the 'out' share"
fi
if ! mount_9p hostroot /mnt "ro,cache=$ROOTCACHE"; then
    echo "vgtest-init: cannot mount the host root" > /out/init-error
    finish "cannot mount the host root"
fi

# ---- keep a copy of the script: the tmpfs mounts below may hide it (e.g. a
# script under /tmp on the host); then the copy is put back at the same path.
if [ -n "$SCRIPT" ] && [ -f "/mnt$SCRIPT" ]; then
    cp "/mnt$SCRIPT" /script.copy 2>/dev/null
fi

# ---- keep the repository visible: a clone under /tmp (as CI may use) would be hidden by the
# tmpfs on /tmp; hold it by a bind mount now and put it back at the same path below.
if [ -n "${KEEP:-}" ] && [ -d "/mnt$KEEP" ]; then
    mkdir -p /keep && mount -o bind "/mnt$KEEP" /keep || say "cannot hold $KEEP"
fi

# ---- prepare the chroot
fail_setup() {
    echo "vgtest-init: $1" >> /out/init-error
    finish "$1"
}
mount -t proc proc /mnt/proc || fail_setup "mount proc"
mount -t sysfs sysfs /mnt/sys || fail_setup "mount sysfs"
mount -t devtmpfs devtmpfs /mnt/dev || fail_setup "mount devtmpfs"
mkdir -p /mnt/dev/pts /mnt/dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts /mnt/dev/pts 2>/dev/null
mount -t tmpfs -o mode=1777 tmpfs /mnt/dev/shm 2>/dev/null
mount -t tmpfs -o mode=1777 tmpfs /mnt/tmp || fail_setup "mount /tmp"
mount -t tmpfs -o mode=0755 tmpfs /mnt/run || fail_setup "mount /run"
for d in /var/lib/vgpuctl $TMPFS_EXTRA; do
    if [ -d "/mnt$d" ]; then
        mount -t tmpfs -o mode=0755 tmpfs "/mnt$d" || fail_setup "mount tmpfs on $d"
    else
        say "no mount point $d on the host (run prepare.sh); skipped"
    fi
done
if [ -n "${KEEP:-}" ] && [ -d /keep ] && [ ! -d "/mnt$KEEP/Tests" ]; then
    say "$KEEP is hidden by a tmpfs in the guest; binding it back"
    mkdir -p "/mnt$KEEP" && mount -o bind /keep "/mnt$KEEP" || fail_setup "bind $KEEP back"
fi
if [ -d /mnt/out ]; then
    mount -o bind /out /mnt/out || fail_setup "bind /out"
else
    say "no /out on the host (run prepare.sh); results only via /out in the initramfs"
fi
# The guest kernel's own modules (for modprobe inside the chroot).
if [ -n "$MODROOT" ] && [ -d "/mnt$MODROOT/lib/modules/$KVER" ] && [ -d /mnt/lib/modules ]; then
    mount -o bind "/mnt$MODROOT/lib/modules" /mnt/lib/modules || say "bind modules failed"
fi

# ---- run the test script
if [ -z "$SCRIPT" ]; then
    fail_setup "no vgtest.script= on the kernel command line"
fi
if [ ! -f "/mnt$SCRIPT" ] && [ -f /script.copy ]; then
    say "$SCRIPT is hidden by a tmpfs in the guest; running a copy at the same path"
    mkdir -p "/mnt${SCRIPT%/*}" && cp /script.copy "/mnt$SCRIPT"
fi
if [ ! -f "/mnt$SCRIPT" ]; then
    fail_setup "script $SCRIPT not found through the host root"
fi
say "running $SCRIPT"
env -i \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/tmp TERM=dumb LANG=C.UTF-8 \
    VGTEST_GUEST=1 VGTEST_OUT=/out VGTEST_KVER="$KVER" VGTEST_SCRIPT="$SCRIPT" \
    chroot /mnt /bin/sh -c 'cd / && exec /bin/sh "$0"' "$SCRIPT" \
    < /dev/null > /out/output.log 2>&1
rc=$?
sync
echo "$rc" > /out/rc.tmp && mv /out/rc.tmp /out/rc
finish "script exited with $rc"
