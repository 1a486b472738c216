# observe-guest.sh - guest script that records how the real kernel answers
# the sysfs/VFIO operations vgpuctl uses (the facts in OBSERVED.md).
# Run it with:  Tests/RealKernel/run-guest.sh "$PWD/Tests/RealKernel/observe-guest.sh" 300
# It prints observations; it asserts nothing except that the PF exists.

HERE=$(dirname "$0")
. "$HERE/guest-lib.sh"

if [ "${VGTEST_GUEST:-0}" != 1 ]; then
    echo "observe-guest.sh must run inside the test VM (use run-guest.sh)" >&2
    exit 2
fi

sec() { echo; echo "=== $*"; }
now() { cut -d' ' -f1 /proc/uptime; }
# timed CMD... - run CMD, then print how long it took (guest clock)
timed() {
    t0=$(now)
    "$@"
    r=$?
    echo "    (took $(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')s)"
    return $r
}
dmesg_mark() { DM_MARK=$(dmesg | wc -l); }
dmesg_new() { dmesg | tail -n +"$((DM_MARK + 1))" | sed 's/^/    dmesg: /'; }
show_links() { # dir
    for f in driver iommu_group physfn subsystem; do
        [ -L "$1/$f" ] && echo "    $f -> $(readlink "$1/$f")"
    done
}

sec "timing"
echo "guest uptime when the script started: $(now) s"

sec "kernel"
uname -a
cat /proc/cmdline

PF=$(find_nvme_pf)
[ -n "$PF" ] || { echo "no NVMe PF"; exit 1; }
P=/sys/bus/pci/devices/$PF
VFIO_DRV=/sys/bus/pci/drivers/vfio-pci
NVME_DRV=/sys/bus/pci/drivers/nvme

sec "PF $PF attributes"
for f in vendor device subsystem_vendor subsystem_device class revision numa_node \
         driver_override sriov_totalvfs sriov_numvfs sriov_drivers_autoprobe \
         sriov_offset sriov_stride sriov_vf_device sriov_vf_total_msix modalias uevent; do
    sysr "$P/$f"
done
show_links "$P"
echo "PF dir: $(ls "$P" | tr '\n' ' ')"
sysr /sys/bus/pci/drivers_autoprobe
echo "iommu group 1 devices: $(ls /sys/kernel/iommu_groups/1/devices | tr '\n' ' ')"
sysr /sys/kernel/iommu_groups/1/type
echo "iommu groups: $(ls /sys/kernel/iommu_groups | sort -n | tr '\n' ' ')"
echo "vfio-pci driver dir: $(ls "$VFIO_DRV" | tr '\n' ' ')"
echo "nvme driver dir: $(ls "$NVME_DRV" | tr '\n' ' ')"
ls -l /dev/vfio

sec "sriov_drivers_autoprobe writes"
for v in abc 2 -1 y n on off 0 1; do sysw "$P/sriov_drivers_autoprobe" "$v" nl; sysr "$P/sriov_drivers_autoprobe"; done
sysw "$P/sriov_drivers_autoprobe" "" nl
sysw "$P/sriov_drivers_autoprobe" 0
sysr "$P/sriov_drivers_autoprobe"

sec "sriov_numvfs parsing (autoprobe 0)"
sysr "$P/sriov_numvfs"
for v in abc "" " 1" "1 " -1 65536 5 1.5; do sysw "$P/sriov_numvfs" "$v" nl; done
sysw "$P/sriov_numvfs" "2 " 
sysw "$P/sriov_numvfs" "0x2" nl; sysr "$P/sriov_numvfs"; sysw "$P/sriov_numvfs" 0 nl
sysw "$P/sriov_numvfs" "02" nl; sysr "$P/sriov_numvfs"; sysw "$P/sriov_numvfs" 0 nl
echo "-- enable 4 (no newline), again 4, then 3, then 0, 0"
dmesg_mark
timed sysw "$P/sriov_numvfs" 4
sysr "$P/sriov_numvfs"
ls -d "$P"/virtfn* | tr '\n' ' '; echo
timed sysw "$P/sriov_numvfs" 4 nl
sysw "$P/sriov_numvfs" 3 nl
sysw "$P/sriov_numvfs" 5 nl
timed sysw "$P/sriov_numvfs" 0 nl
sysw "$P/sriov_numvfs" 0 nl
dmesg_new

sec "VF attributes (3 VFs, autoprobe 0)"
dmesg_mark
timed sysw "$P/sriov_numvfs" 3 nl
dmesg_new
for l in "$P"/virtfn*; do echo "$(basename "$l") -> $(readlink "$l")"; done
VF1=$(link_name "$P/virtfn0"); VF2=$(link_name "$P/virtfn1"); VF3=$(link_name "$P/virtfn2")
V1=/sys/bus/pci/devices/$VF1; V2=/sys/bus/pci/devices/$VF2; V3=/sys/bus/pci/devices/$VF3
for f in vendor device subsystem_vendor subsystem_device class revision numa_node \
         driver_override sriov_vf_msix_count modalias uevent sriov_numvfs; do
    sysr "$V1/$f"
done
show_links "$V1"
echo "    /sys/bus/pci/devices/$VF1 -> $(readlink "/sys/bus/pci/devices/$VF1")"
echo "    /sys/kernel/iommu_groups/$(link_name "$V1/iommu_group")/devices/$VF1 -> $(readlink "/sys/kernel/iommu_groups/$(link_name "$V1/iommu_group")/devices/$VF1")"
echo "VF dir: $(ls "$V1" | tr '\n' ' ')"
for v in "$VF1" "$VF2" "$VF3"; do
    g=$(link_name "/sys/bus/pci/devices/$v/iommu_group")
    echo "$v group $g: devices=$(ls /sys/kernel/iommu_groups/$g/devices | tr '\n' ' ') type=$(val /sys/kernel/iommu_groups/$g/type)"
done
echo "lspci -D -n:"; lspci -D -n
echo "lspci -D -nn -k -s $VF1:"; lspci -D -nn -k -s "$VF1"
ls -l /dev/vfio

sec "driver_override writes"
sysr "$V1/driver_override"
sysw "$V1/driver_override" vfio-pci; sysr "$V1/driver_override"
sysw "$V1/driver_override" ""; sysr "$V1/driver_override"
sysw "$V1/driver_override" "" nl; sysr "$V1/driver_override"
sysw "$V1/driver_override" "no-such-driver" nl; sysr "$V1/driver_override"
echo "(5000-character value:)"
sysw "$V1/driver_override" "$(printf '%05000d' 0)" nl | sed 's/0\{5000\}/<5000 zeros>/'
echo "(4094-character value:)"
sysw "$V1/driver_override" "$(printf '%04094d' 0)" | sed 's/0\{4094\}/<4094 zeros>/'
echo "(4095-character value:)"
sysw "$V1/driver_override" "$(printf '%04095d' 0)" | sed 's/0\{4095\}/<4095 zeros>/'

sysw "$V1/driver_override" "" nl; sysr "$V1/driver_override"

sec "bind/unbind/drivers_probe error cases"
echo "-- drivers_probe"
sysw /sys/bus/pci/drivers_probe 0000:00:1f.7 nl
sysw /sys/bus/pci/drivers_probe 0000:00:03.5 nl
sysw /sys/bus/pci/drivers_probe xyz nl
sysw /sys/bus/pci/drivers_probe "" nl
sysw /sys/bus/pci/drivers_probe "00:03.1" nl
sysw /sys/bus/pci/drivers_probe "$VF1" nl
echo "   driver of $VF1 after drivers_probe without override (autoprobe 0): $(link_name "$V1/driver")"
sysw /sys/bus/pci/drivers_probe "$PF" nl
echo "   PF driver still: $(link_name "$P/driver")"
echo "-- vfio-pci/bind"
sysw "$VFIO_DRV/bind" 0000:00:1f.7 nl
sysw "$VFIO_DRV/bind" xyz nl
sysw "$VFIO_DRV/bind" "$VF1" nl
echo "   (no override, no new_id) driver: $(link_name "$V1/driver")"
sysw "$VFIO_DRV/bind" "$PF" nl
echo "   PF driver: $(link_name "$P/driver")"
echo "-- nvme/bind of VF2 with driver_override=vfio-pci"
sysw "$V2/driver_override" vfio-pci nl
sysw "$NVME_DRV/bind" "$VF2" nl
echo "   driver: $(link_name "$V2/driver")"
echo "-- vfio-pci/bind of VF2 with override nvme"
sysw "$V2/driver_override" nvme nl
sysw "$VFIO_DRV/bind" "$VF2" nl
sysw "$V2/driver_override" vfio-pci nl
echo "-- vfio-pci/bind of VF2 with override vfio-pci"
dmesg_mark
timed sysw "$VFIO_DRV/bind" "$VF2" nl
echo "   driver: $(link_name "$V2/driver")"
echo "    $V2/driver -> $(readlink "$V2/driver")"
echo "    $VFIO_DRV/$VF2 -> $(readlink "$VFIO_DRV/$VF2")"
echo "    vfio-pci driver dir now: $(ls "$VFIO_DRV" | tr '\n' ' ')"
sysr "$V2/uevent"
dmesg_new
echo "-- vfio-pci/bind again (already bound to vfio-pci)"
sysw "$VFIO_DRV/bind" "$VF2" nl
echo "-- drivers_probe for a device already bound"
sysw /sys/bus/pci/drivers_probe "$VF2" nl
echo "-- unbind errors"
sysw "$VFIO_DRV/unbind" 0000:00:1f.7 nl
sysw "$VFIO_DRV/unbind" xyz nl
sysw "$VFIO_DRV/unbind" "$VF3" nl
sysw "$NVME_DRV/unbind" "$VF2" nl
sysw "$V3/driver/unbind" "$VF3" nl
echo "-- driver_override change while bound"
sysw "$V2/driver_override" nvme nl
sysr "$V2/driver_override"
echo "   driver still: $(link_name "$V2/driver")"
sysw "$V2/driver_override" vfio-pci nl
echo "-- /dev/vfio and group viability"
ls -l /dev/vfio
G2=$(link_name "$V2/iommu_group")
show_links "$V2"
vfio_hold "$G2" "$VF2" 0 status
echo "-- second open of the same group while held"
vfio_hold "$G2" "$VF2" 4 group &
HOLD=$!
sleep 1
vfio_hold "$G2" "$VF2" 0 status
wait $HOLD
echo "-- open of a group whose device is not bound to vfio (VF3, group $(link_name "$V3/iommu_group"))"
ls -l "/dev/vfio/$(link_name "$V3/iommu_group")" 2>&1
echo "-- unbind via driver/unbind"
sysw "$V2/driver/unbind" "$VF2" nl
echo "   driver: $(link_name "$V2/driver")"
ls -l /dev/vfio
echo "-- bind via drivers_probe (override still vfio-pci)"
timed sysw /sys/bus/pci/drivers_probe "$VF2" nl
echo "   driver: $(link_name "$V2/driver")"

sec "nested QEMU with vfio-pci (host=$VF2)"
(
    echo '{"execute":"qmp_capabilities"}'
    echo '{"execute":"query-pci"}'
    echo '{"execute":"quit"}'
) > /tmp/qmp.in
t0=$(now)
timeout 120 qemu-system-x86_64 -M q35 -accel tcg -nodefaults -display none -S -qmp stdio \
    -device "vfio-pci,host=$VF2,id=hostdev0" < /tmp/qmp.in > /tmp/qmp.out 2>&1
echo "qemu rc=$? after $(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')s"
echo "query-pci entry of hostdev0 (excerpt):"
grep -o '.\{0,160\}"qdev_id": "hostdev0".\{0,400\}' /tmp/qmp.out | head -n 1
grep -v '^{"return": \[{"bus"' /tmp/qmp.out | cut -c1-300
echo "-- nested QEMU with a VF that is not bound to vfio-pci ($VF3)"
timeout 60 qemu-system-x86_64 -M q35 -accel tcg -nodefaults -display none -S -qmp stdio \
    -device "vfio-pci,host=$VF3,id=hostdev1" < /tmp/qmp.in > /tmp/qmp.out 2>&1
echo "   qemu rc=$?"
grep -v '"return"' /tmp/qmp.out | cut -c1-300
echo "-- nested QEMU while the group is held by another process"
rm -f /tmp/release
vfio_hold "$G2" "$VF2" 120 group /tmp/release &
HOLD=$!
sleep 1
timeout 60 qemu-system-x86_64 -M q35 -accel tcg -nodefaults -display none -S -qmp stdio \
    -device "vfio-pci,host=$VF2,id=hostdev0" < /tmp/qmp.in > /tmp/qmp.out 2>&1
echo "   qemu rc=$?"
grep -v '"return"' /tmp/qmp.out | cut -c1-300
touch /tmp/release; wait $HOLD
echo "-- nested QEMU with a non-existent host device"
timeout 60 qemu-system-x86_64 -M q35 -accel tcg -nodefaults -display none -S -qmp stdio \
    -device "vfio-pci,host=0000:00:03.7,id=hostdev2" < /tmp/qmp.in > /tmp/qmp.out 2>&1
echo "   qemu rc=$?"
grep -v '"return"' /tmp/qmp.out | cut -c1-300

sec "sriov_numvfs=0 while a VF device fd is open (held 8 s)"
vfio_hold "$G2" "$VF2" 8 device &
HOLD=$!
sleep 2
dmesg_mark
timed sysw "$P/sriov_numvfs" 0 nl
wait $HOLD
dmesg_new
sysr "$P/sriov_numvfs"
ls -l /dev/vfio

sec "sriov_numvfs=0 while only the group fd is open (held 5 s)"
sysw "$P/sriov_numvfs" 2 nl
W1=$(link_name "$P/virtfn0"); W1G=$(link_name "/sys/bus/pci/devices/$W1/iommu_group")
sysw "/sys/bus/pci/devices/$W1/driver_override" vfio-pci nl
sysw /sys/bus/pci/drivers_probe "$W1" nl
echo "   $W1 driver: $(link_name "/sys/bus/pci/devices/$W1/driver") group $W1G"
vfio_hold "$W1G" "$W1" 5 group &
HOLD=$!
sleep 1
dmesg_mark
timed sysw "$P/sriov_numvfs" 0 nl
wait $HOLD
dmesg_new
ls -l /dev/vfio
echo "   after VF removal and re-creation, driver_override is:"
sysw "$P/sriov_numvfs" 1 nl
sysr "/sys/bus/pci/devices/$(link_name "$P/virtfn0")/driver_override"
sysw "$P/sriov_numvfs" 0 nl

sec "autoprobe=1: do VFs bind to nvme automatically?"
sysw "$P/sriov_drivers_autoprobe" 1 nl
dmesg_mark
# Poll (in the background) for the transient nvme binding of the first VF.
(
    i=0
    while [ $i -lt 20000 ]; do
        d=$(readlink /sys/bus/pci/devices/0000:00:03.1/driver 2>/dev/null)
        if [ -n "$d" ]; then echo "   poller: 0000:00:03.1 was bound to $(basename "$d") at uptime $(now)"; break; fi
        i=$((i + 1))
    done
) &
POLL=$!
timed sysw "$P/sriov_numvfs" 2 nl
for i in 0 1; do
    v=$(link_name "$P/virtfn$i"); echo "   $v driver right after enable: $(link_name "/sys/bus/pci/devices/$v/driver")"
done
sleep 5
for i in 0 1; do
    v=$(link_name "$P/virtfn$i"); echo "   $v driver after 5 s: $(link_name "/sys/bus/pci/devices/$v/driver")"
done
sleep 15
kill $POLL 2>/dev/null; wait $POLL 2>/dev/null
for i in 0 1; do
    v=$(link_name "$P/virtfn$i"); echo "   $v driver after 20 s: $(link_name "/sys/bus/pci/devices/$v/driver")"
done
ls /dev/nvme* 2>&1 | tr '\n' ' '; echo
dmesg_new
echo "-- disable (the nvme driver has already let go of the VFs by now)"
dmesg_mark
timed sysw "$P/sriov_numvfs" 0 nl
dmesg_new

sec "PF without a driver"
sysw "$P/sriov_drivers_autoprobe" 0 nl
sysw "$P/sriov_numvfs" 2 nl
dmesg_mark
timed sysw "$NVME_DRV/unbind" "$PF" nl
echo "   PF driver: $(link_name "$P/driver"); sriov_numvfs: $(val "$P/sriov_numvfs"); virtfns: $(ls -d "$P"/virtfn* 2>/dev/null | wc -l)"
dmesg_new
dmesg_mark
sysw "$P/sriov_numvfs" 0 nl
sysw "$P/sriov_numvfs" 2 nl
sysw "$P/sriov_numvfs" 5 nl
sysw "$P/sriov_numvfs" abc nl
dmesg_new
echo "-- rebind the PF to nvme (VFs still enabled)"
dmesg_mark
timed sysw "$NVME_DRV/bind" "$PF" nl
sleep 2
echo "   PF driver: $(link_name "$P/driver"); sriov_numvfs: $(val "$P/sriov_numvfs")"
sysw "$P/sriov_numvfs" 0 nl
dmesg_new
echo "-- PF unbound with no VFs, then enable"
sysw "$NVME_DRV/unbind" "$PF" nl
dmesg_mark
sysw "$P/sriov_numvfs" 1 nl
dmesg_new
sysw "$NVME_DRV/bind" "$PF" nl
sleep 2
echo "   PF driver: $(link_name "$P/driver")"

sec "vfio-pci new_id / remove_id (2 VFs, autoprobe 0)"
sysw "$P/sriov_drivers_autoprobe" 0 nl
sysw "$P/sriov_numvfs" 2 nl
dmesg_mark
timed sysw "$VFIO_DRV/new_id" "1b36 0010" nl
for i in 0 1; do v=$(link_name "$P/virtfn$i"); echo "   $v driver: $(link_name "/sys/bus/pci/devices/$v/driver")"; done
echo "   PF driver: $(link_name "$P/driver")"
sysw "$VFIO_DRV/new_id" "1b36 0010" nl
sysw "$VFIO_DRV/new_id" "xyz" nl
sysw /sys/bus/pci/drivers_probe 0000:00:03.1 nl
echo "   0000:00:03.1 driver after drivers_probe: $(link_name /sys/bus/pci/devices/0000:00:03.1/driver)"
sysw "$VFIO_DRV/remove_id" "1b36 0010" nl
sysw "$VFIO_DRV/remove_id" "1b36 0010" nl
echo "   0000:00:03.1 driver after remove_id: $(link_name /sys/bus/pci/devices/0000:00:03.1/driver)"
sysw "$P/sriov_numvfs" 0 nl
echo "-- new_id with autoprobe 1"
sysw "$P/sriov_numvfs" 2 nl
sysw "$P/sriov_drivers_autoprobe" 1 nl
sysw "$VFIO_DRV/new_id" "1b36 0010" nl
for i in 0 1; do v=$(link_name "$P/virtfn$i"); echo "   $v driver: $(link_name "/sys/bus/pci/devices/$v/driver")"; done
sysw "$VFIO_DRV/remove_id" "1b36 0010" nl
for i in 0 1; do v=$(link_name "$P/virtfn$i"); sysw "$VFIO_DRV/unbind" "$v" nl; done
sysw "$P/sriov_numvfs" 0 nl
dmesg_new

sec "modprobe inside the chroot"
modprobe -n -v pci-stub 2>&1
modprobe vfio-pci; echo "modprobe vfio-pci (already loaded) rc=$?"
modprobe no-such-module; echo "modprobe no-such-module rc=$?"
lsmod | head -n 30

sec "host binaries"
t0=$(now); qemu-system-x86_64 --version | head -n 1; echo "    (took $(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')s)"
t0=$(now); lspci -D -n | wc -l; echo "    (lspci took $(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')s)"
for b in /work/main/.build/debug/vgpuctl /work/main/.build/release/vgpuctl; do
    if [ -x "$b" ]; then
        t0=$(now); timeout 120 "$b" --help 2>&1 | head -n 5; echo "    ($b --help rc=$? took $(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')s)"
    fi
done

sec "timing"
echo "guest uptime at the end: $(now) s"
exit 0
