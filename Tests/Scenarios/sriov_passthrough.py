#!/usr/bin/python3
"""One scenario suite, two kernels: SR-IOV VFs and whole-device passthrough.

Usage: sriov_passthrough.py VGPUCTL ROOT PF

Runs the same steps against a simulated host (ROOT = a tree made by `vgpuctl sim create`,
from the unit tests) and against a real Linux kernel (ROOT = /, inside the QEMU guest of
Tests/RealKernel, with an emulated NVMe PF that has 4 VFs). Prints one line per check
("ok ..." / "not ok ...") and exits 1 if any check failed. Where the two kernels disagree,
the simulator is wrong.
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scenario import Scenario  # noqa: E402

VGPUCTL, ROOT, PF = sys.argv[1], sys.argv[2], sys.argv[3]
S = Scenario(VGPUCTL, ROOT)
run, check = S.run, S.check


def under_root(path):
    return os.path.join(ROOT, path.lstrip("/"))


def devices():
    rc, out, err = run("list", "--all", "--json")
    if rc != 0:
        raise SystemExit(f"not ok - list --all --json failed: {err}")
    return {d["address"]: d for d in json.loads(out)["devices"]}


pf = devices().get(PF)
check(pf is not None and pf["sriov"] is not None, f"{PF} is an SR-IOV PF", str(pf))
total = pf["sriov"]["totalVFs"]
check(total == 4, "TotalVFs is 4", str(total))

# Start from no VFs (a previous run may have left some on a reused simulated host).
run("vf", "disable", PF)

# 1. Enable 3 of 4 VFs.
rc, out, err = run("vf", "enable", PF, "--count", "3", "--json")
check(rc == 0, "vf enable --count 3 succeeds", err)
enabled = json.loads(out)["vfs"] if rc == 0 else []
check(len(enabled) == 3, "three VFs reported", out)
vfs = [v["address"] for v in enabled]

# 2. list shows them with physfn and their own IOMMU groups; autoprobe off leaves them unbound.
devs = devices()
groups = set()
for vf in vfs:
    d = devs.get(vf)
    check(d is not None and d["physfn"] == PF, f"{vf} has physfn {PF}", str(d))
    check(d is not None and d["driver"] is None, f"{vf} is unbound (sriov_drivers_autoprobe=0)", str(d and d["driver"]))
    g = d and d["iommuGroup"]
    check(g is not None, f"{vf} has an IOMMU group")
    if g is not None:
        members = sorted(os.listdir(under_root(f"sys/kernel/iommu_groups/{g}/devices")))
        check(members == [vf], f"{vf} is alone in group {g}", str(members))
        groups.add(g)
check(len(groups) == 3, "three distinct groups", str(groups))
check(devs[PF]["sriov"]["numVFs"] == 3 and devs[PF]["sriov"]["vfs"] == vfs, "the PF lists the VFs in order", str(devs[PF]["sriov"]))
with open(under_root(f"sys/bus/pci/devices/{PF}/sriov_drivers_autoprobe")) as f:
    check(f.read().strip() == "0", "sriov_drivers_autoprobe reads 0")

# Same count again: a no-op.
rc, out, err = run("vf", "enable", PF, "--count", "3")
check(rc == 0 and "nothing changed" in out, "enabling the same count is a no-op", out + err)

# 3. Enable 5 fails with the ERANGE sentence, before any write.
rc, out, err = run("vf", "enable", PF, "--count", "5")
check(rc == 2, "vf enable --count 5 exits 2", str(rc))
check(f"{PF} supports at most 4 VFs" in err, "the ERANGE sentence", err)
check(devices()[PF]["sriov"]["numVFs"] == 3, "still 3 VFs")

# A different nonzero count without --force is refused.
rc, out, err = run("vf", "enable", PF, "--count", "2")
check(rc == 4 and "--force" in err, "changing a nonzero count needs --force (exit 4)", err)

# 4. Assign VF 1: bound to vfio-pci, /dev/vfio/<group> exists.
vf1 = vfs[1]
rc, out, err = run("passthrough", "assign", vf1, "--json")
check(rc == 0, f"passthrough assign {vf1} succeeds", err)
d = devices()[vf1]
check(d["driver"] == "vfio-pci", f"{vf1} is bound to vfio-pci", str(d["driver"]))
check(os.path.exists(under_root(f"dev/vfio/{d['iommuGroup']}")), f"/dev/vfio/{d['iommuGroup']} exists")
rc, out, err = run("passthrough", "assign", vf1)
check(rc == 0 and "already assigned" in out, "assigning again is a no-op that says so", out + err)
rc, out, err = run("qemu", "args", vf1)
check(rc == 0 and out.split("\n")[:2] == ["-device", f"vfio-pci,host={vf1},id=hostdev-{vf1.replace(':', '-')}"], "qemu args for the VF", out + err)
rc, out, err = run("passthrough", "list", "--json")
listed = json.loads(out)["devices"] if rc == 0 else []
check([x["address"] for x in listed] == [vf1] and listed[0]["previousDriver"] is None, "passthrough list shows the VF", out)

# 5. Release: unbound again, driver_override empty.
rc, out, err = run("passthrough", "release", vf1)
check(rc == 0, f"passthrough release {vf1} succeeds", err)
check(devices()[vf1]["driver"] is None, f"{vf1} is unbound again")
with open(under_root(f"sys/bus/pci/devices/{vf1}/driver_override")) as f:
    check(f.read().strip() == "(null)", "driver_override is empty ((null))")
check(not os.path.exists(under_root(f"dev/vfio/{d['iommuGroup']}")), f"/dev/vfio/{d['iommuGroup']} is gone")

# 6. Disable: no VFs.
rc, out, err = run("vf", "disable", PF)
check(rc == 0, "vf disable succeeds", err)
devs = devices()
check(devs[PF]["sriov"]["numVFs"] == 0 and devs[PF]["sriov"]["vfs"] == [], "no VFs left")
check(not any(a in devs for a in vfs), "the VF devices are gone")

# Bad input changes nothing.
rc, out, err = run("vf", "enable", "0000:zz:00.0", "--count", "1")
check(rc == 2 and "0000:zz:00.0" in err, "malformed PF address exits 2", err)
rc, out, err = run("vf", "enable", PF, "--count", "three")
check(rc == 2, "a count that is not a number exits 2", err)

S.finish()
