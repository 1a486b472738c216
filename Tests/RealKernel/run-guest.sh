#!/bin/bash
# run-guest.sh SCRIPT [TIMEOUT_SECONDS]
#
# Boots the Debian kernel prepared by prepare.sh in QEMU (q35, TCG, emulated
# VT-d, emulated NVMe PF with SR-IOV), with the host root shared read-only as
# the guest's root, and runs SCRIPT (an absolute host path; the same path works
# in the guest) with /bin/sh as root inside the guest.
#
# Prints the script's stdout+stderr and exits with its exit status.
# If the guest produced no exit status (boot failure, timeout, crash), prints
# whatever output exists plus the full console log, and exits 125. A kernel
# panic while booting, before the script started, is booted once more.
#
# Environment:
#   VM_CACHE          cache folder (default /var/cache/vgpuctl-tests)
#   VGTEST_SUITE      which prepared kernel to boot: bookworm (default, 6.1),
#                     trixie (6.12) or sid (newest); prepare.sh with the same
#                     VGTEST_SUITE must have run
#   VGTEST_OUT_DIR    use this (empty or new) host directory as the guest's /out
#                     and keep it afterwards; default: a temporary directory
#                     that is removed at the end
#   VGTEST_KEEP=1     keep the temporary work directory (console log etc.)
#   VGTEST_ACCEL      QEMU accelerator (default tcg)
#   VGTEST_MEM        guest memory in MiB (default 2048)
#   VGTEST_SMP        guest CPUs (default 2)
#   VGTEST_TMPFS      extra comma-separated guest directories to cover with a
#                     tmpfs (each must exist on the host)
#   VGTEST_APPEND     extra kernel command line arguments
#   VGTEST_QEMU_ARGS  extra QEMU arguments (word-split)
#   VGTEST_QUIET=1    do not print timing information on stderr
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
VM_CACHE=${VM_CACHE:-/var/cache/vgpuctl-tests}
ENV_FILE=$VM_CACHE/vm-${VGTEST_SUITE:-bookworm}.env
NO_RC=125

note() { [ "${VGTEST_QUIET:-0}" = 1 ] || printf 'run-guest: %s\n' "$*" >&2; }
fail() { printf 'run-guest: ERROR: %s\n' "$*" >&2; exit $NO_RC; }

[ $# -ge 1 ] && [ $# -le 2 ] || fail "usage: run-guest.sh SCRIPT [TIMEOUT_SECONDS]"
SCRIPT=$1
TIMEOUT=${2:-180}
case "$SCRIPT" in
    /*) ;;
    *) fail "SCRIPT must be an absolute path (it is opened inside the guest): $SCRIPT" ;;
esac
case "$SCRIPT" in
    *[[:space:]]*) fail "SCRIPT path must not contain whitespace (kernel command line)" ;;
esac
[ -f "$SCRIPT" ] && [ -r "$SCRIPT" ] || fail "no readable file $SCRIPT"
case "$TIMEOUT" in
    ''|*[!0-9]*) fail "TIMEOUT_SECONDS must be a positive integer: $TIMEOUT" ;;
esac
[ "$TIMEOUT" -gt 0 ] || fail "TIMEOUT_SECONDS must be > 0"
[ -f "$ENV_FILE" ] || fail "$ENV_FILE missing: run VGTEST_SUITE=${VGTEST_SUITE:-bookworm} $HERE/prepare.sh first"
# shellcheck disable=SC1090
. "$ENV_FILE"
[ -f "$VGTEST_KERNEL" ] && [ -f "$VGTEST_INITRD" ] || fail "kernel/initramfs missing: run $HERE/prepare.sh"
command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 missing: run $HERE/prepare.sh"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vgtest.XXXXXX") || fail "mktemp failed"
if [ -n "${VGTEST_OUT_DIR:-}" ]; then
    OUT=$VGTEST_OUT_DIR
    mkdir -p "$OUT" || fail "cannot create $OUT"
    rm -f "$OUT/rc" "$OUT/output.log" "$OUT/init-error"
else
    OUT=$WORK/out
    mkdir -p "$OUT"
fi
OUT=$(cd "$OUT" && pwd)
CONSOLE=$WORK/console.log
QEMU_LOG=$WORK/qemu.log

QPID=""
cleanup() {
    if [ -n "$QPID" ] && kill -0 "$QPID" 2>/dev/null; then
        kill -TERM "$QPID" 2>/dev/null
        sleep 1
        kill -KILL "$QPID" 2>/dev/null
    fi
    if [ "${VGTEST_KEEP:-0}" = 1 ]; then
        note "work directory kept: $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit $NO_RC' INT TERM HUP

# no_timer_check: under TCG on a loaded machine the IO-APIC timer check can miss its window and
# the kernel panics ("timer doesn't work through Interrupt-remapped IO-APIC"; seen once in .ci/run).
APPEND="console=ttyS0 intel_iommu=on iommu=pt panic=-1 no_timer_check vgtest.script=$SCRIPT vgtest.modroot=$VGTEST_MODROOT vgtest.keep=$REPO"
[ -n "${VGTEST_TMPFS:-}" ] && APPEND="$APPEND vgtest.tmpfs=$VGTEST_TMPFS"
[ -n "${VGTEST_APPEND:-}" ] && APPEND="$APPEND $VGTEST_APPEND"

# Fixed PCI addresses, so tests can rely on them:
#   00:03.0 NVMe PF (VFs appear as 00:03.1 .. 00:03.4)
#   00:04.0 virtio-9p "hostroot" (host /, read-only)
#   00:05.0 virtio-9p "out" (result directory, writable)
# -fsdev + -device virtio-9p-pci is the long form of
#   -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on
# (the long form lets us pin the PCI address).
# shellcheck disable=SC2086
QEMU_CMD=(
    qemu-system-x86_64
    -accel "${VGTEST_ACCEL:-tcg}"
    -machine q35,kernel-irqchip=split
    -m "${VGTEST_MEM:-2048}" -smp "${VGTEST_SMP:-2}"
    -device intel-iommu,intremap=on,caching-mode=on
    -nodefaults -no-user-config -display none -vga none -no-reboot
    -serial "file:$CONSOLE" -monitor none
    -kernel "$VGTEST_KERNEL" -initrd "$VGTEST_INITRD" -append "$APPEND"
    -device nvme-subsys,id=subsys0
    -device nvme,serial=deadbeef,subsys=subsys0,sriov_max_vfs=4,sriov_vq_flexible=8,sriov_vi_flexible=4,max_ioqpairs=13,msix_qsize=9,addr=03.0
    -fsdev local,id=fshost,path=/,security_model=none,readonly=on,multidevs=remap
    -device virtio-9p-pci,fsdev=fshost,mount_tag=hostroot,addr=04.0
    -fsdev "local,id=fsout,path=$OUT,security_model=none,multidevs=remap"
    -device virtio-9p-pci,fsdev=fsout,mount_tag=out,addr=05.0
    ${VGTEST_QEMU_ARGS:-}
)

# A guest kernel that panics while booting, before /init has started the script (no output, no
# init error), is booted once more: under TCG on a loaded machine Debian's 6.12 once died in
# its idle loop ("Fatal exception in interrupt" in sched_clock_idle_wakeup_event, 1.9 s into
# boot, .ci/run of 4caac42). The first console is printed in full; a second failure fails.
for ATTEMPT in 1 2; do
    note "booting $VGTEST_KVER, script $SCRIPT, timeout ${TIMEOUT}s"
    START=$(date +%s.%N)
    timeout --kill-after=10 "$TIMEOUT" "${QEMU_CMD[@]}" </dev/null >"$QEMU_LOG" 2>&1 &
    QPID=$!
    wait "$QPID"
    QRC=$?
    QPID=""
    END=$(date +%s.%N)
    ELAPSED=$(awk -v a="$START" -v b="$END" 'BEGIN { printf "%.1f", b - a }')
    if [ "$ATTEMPT" = 1 ] && [ ! -f "$OUT/rc" ] && [ ! -e "$OUT/output.log" ] && [ ! -e "$OUT/init-error" ] &&
        grep -q "Kernel panic" "$CONSOLE" 2>/dev/null; then
        {
            echo "run-guest: the guest kernel panicked while booting, before the script started (qemu status $QRC after ${ELAPSED}s); its console:"
            cat "$CONSOLE"
            echo "run-guest: end of console; booting once more"
        } >&2
        rm -f "$CONSOLE" "$QEMU_LOG"
        continue
    fi
    break
done

if [ -f "$OUT/output.log" ]; then
    cat "$OUT/output.log"
fi

RC=""
if [ -f "$OUT/rc" ]; then
    RC=$(tr -d '[:space:]' < "$OUT/rc")
    case "$RC" in ''|*[!0-9]*) RC="" ;; esac
fi

if [ -n "$RC" ]; then
    note "guest script exited with $RC after ${ELAPSED}s (qemu status $QRC)"
    exit "$RC"
fi

{
    echo "run-guest: the guest produced no exit status (qemu status $QRC after ${ELAPSED}s$([ "$QRC" = 124 ] || [ "$QRC" = 137 ] && echo ", timed out after ${TIMEOUT}s"))"
    if [ -f "$OUT/init-error" ]; then
        echo "----- init errors"
        cat "$OUT/init-error"
    fi
    echo "----- qemu stdout/stderr"
    cat "$QEMU_LOG" 2>/dev/null
    echo "----- guest console"
    cat "$CONSOLE" 2>/dev/null
    echo "----- end of console"
} >&2
exit $NO_RC
