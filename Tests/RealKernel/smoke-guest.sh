# smoke-guest.sh - guest script proving the real-kernel recipe works.
# Run it with:  Tests/RealKernel/run-guest.sh "$PWD/Tests/RealKernel/smoke-guest.sh"
# Runs as root inside the VM (host root read-only via 9p). Exit status is the
# number of failed checks (0 = all passed).

HERE=$(dirname "$0")
. "$HERE/guest-lib.sh"

if [ "${VGTEST_GUEST:-0}" != 1 ]; then
    echo "smoke-guest.sh must run inside the test VM (use run-guest.sh)" >&2
    exit 2
fi

echo "== kernel"
echo "uname -r: $(uname -r)"

echo "== NVMe PF"
PF=$(find_nvme_pf)
check "NVMe PF with SR-IOV found" [ -n "$PF" ]
[ -n "$PF" ] || exit 1
P=/sys/bus/pci/devices/$PF
echo "PF: $PF driver=$(link_name "$P/driver") iommu_group=$(link_name "$P/iommu_group")"
echo "sriov_totalvfs: $(val "$P/sriov_totalvfs")"
echo "sriov_numvfs: $(val "$P/sriov_numvfs")"
echo "sriov_drivers_autoprobe: $(val "$P/sriov_drivers_autoprobe")"
check "sriov_totalvfs is 4" [ "$(val "$P/sriov_totalvfs")" = 4 ]

echo "== enable 3 VFs with autoprobe off"
sysw "$P/sriov_drivers_autoprobe" 0 nl
echo "sriov_drivers_autoprobe now: $(val "$P/sriov_drivers_autoprobe")"
sysw "$P/sriov_numvfs" 3 nl
check "3 VFs enabled" [ "$(val "$P/sriov_numvfs")" = 3 ]
for l in "$P"/virtfn*; do
    [ -e "$l" ] || continue
    vf=$(link_name "$l")
    V=/sys/bus/pci/devices/$vf
    echo "$(basename "$l") -> $vf vendor=$(val "$V/vendor") device=$(val "$V/device") class=$(val "$V/class") iommu_group=$(link_name "$V/iommu_group") driver=$(link_name "$V/driver") physfn=$(link_name "$V/physfn")"
done
VF1=$(link_name "$P/virtfn0")
check "VF 1 exists" [ -n "$VF1" ]
V=/sys/bus/pci/devices/$VF1
GROUP=$(link_name "$V/iommu_group")
check "VF 1 has an IOMMU group" [ -n "$GROUP" ]
check "VF 1 is unbound (autoprobe off)" [ ! -e "$V/driver" ]

echo "== bind VF 1 ($VF1) to vfio-pci"
sysr "$V/driver_override"
sysw "$V/driver_override" vfio-pci nl
sysr "$V/driver_override"
sysw /sys/bus/pci/drivers_probe "$VF1" nl
echo "driver: $(link_name "$V/driver")"
check "VF 1 bound to vfio-pci" [ "$(link_name "$V/driver")" = vfio-pci ]
ls -l /dev/vfio/
check "/dev/vfio/$GROUP exists" [ -c "/dev/vfio/$GROUP" ]

echo "== errors"
out=$(sysw "$P/sriov_numvfs" 5 nl); printf '%s\n' "$out"
check "numvfs 5 > total gives ERANGE" has "$out" "ERR errno=34 ERANGE (Numerical result out of range)"
out=$(sysw "$P/sriov_numvfs" 2 nl); printf '%s\n' "$out"
check "numvfs 2 while 3 enabled gives EBUSY" has "$out" "ERR errno=16 EBUSY (Device or resource busy)"

echo "== cleanup"
sysw /sys/bus/pci/drivers/vfio-pci/unbind "$VF1" nl
sysw "$V/driver_override" "" nl
sysr "$V/driver_override"
sysw "$P/sriov_numvfs" 0 nl
check "VFs removed" [ "$(val "$P/sriov_numvfs")" = 0 ] && [ ! -e "$P/virtfn0" ]
check "/dev/vfio/$GROUP gone" [ ! -e "/dev/vfio/$GROUP" ]
sysw "$P/sriov_drivers_autoprobe" 1 nl

echo "== host binaries in the guest"
if qv=$(timeout 60 qemu-system-x86_64 --version 2>&1); then
    echo "qemu-system-x86_64 --version: $(echo "$qv" | head -n 1)"
else
    echo "qemu-system-x86_64 --version FAILED: $qv"
fi
if lp=$(timeout 60 /usr/bin/lspci -D -n 2>&1); then
    echo "lspci -D -n:"
    echo "$lp"
else
    echo "lspci FAILED: $lp"
fi
check "lspci -D -n runs and lists the PF" sh -c "timeout 60 /usr/bin/lspci -D -n | grep -q '^$PF '"

echo "== result: $VG_FAILS failed check(s)"
exit "$VG_FAILS"
