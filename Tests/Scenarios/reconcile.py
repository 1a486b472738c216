#!/usr/bin/python3
"""One scenario suite, two kernels: plan / apply / assert of a host config (generic SR-IOV and
passthrough parts).

Usage: reconcile.py VGPUCTL ROOT PF WORKDIR

Runs against a simulated host (the qemu-nvme model, from the unit tests) and against the real
kernel inside the QEMU guest of Tests/RealKernel (ROOT = /). WORKDIR must be writable (config
files are written there). Prints "ok ..."/"not ok ..." lines; exits 1 if any check failed.
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scenario import Scenario  # noqa: E402

VGPUCTL, ROOT, PF, WORK = sys.argv[1:5]
S = Scenario(VGPUCTL, ROOT)
run, check = S.run, S.check


def config(name, body):
    path = os.path.join(WORK, name + ".yaml")
    with open(path, "w") as f:
        f.write("version: 1\nconfigs:\n  " + name + ":\n" + body)
    return path


def dev(addr):
    rc, out, err = run("list", "--all", "--json")
    return {d["address"]: d for d in json.loads(out)["devices"]}.get(addr)


run("vf", "disable", PF, "--force")
vfs_cfg = config("vfs", f"    - select: {{address: \"{PF}\"}}\n      mode: vgpu\n      vfs: 3\n      vfioHandoff: true\n")
pt_cfg = config("whole", f"    - select: {{address: \"{PF}\"}}\n      mode: passthrough\n")
host_cfg = config("host", f"    - select: {{address: \"{PF}\"}}\n      mode: host\n")
host_driver = dev(PF)["driver"]
check(host_driver is not None, f"{PF} starts bound to a host driver ({host_driver})")

# Plan changes nothing and lists the steps in order.
rc, out, err = run("plan", "-f", vfs_cfg, "--json")
check(rc == 0, "plan succeeds", err)
steps = [s["phase"] for d in json.loads(out)["devices"] for s in d["steps"]] if rc == 0 else []
check(steps == ["vfs", "handoff", "handoff", "handoff"], "plan: enable VFs, then hand each VF to vfio-pci", str(steps))
check(dev(PF)["sriov"]["numVFs"] == 0, "plan changed nothing")
rc, out, err = run("assert", "-f", vfs_cfg)
check(rc == 1 and "does not match" in out, "assert before apply exits 1 with a drift report", f"{rc} {out} {err}")

rc, out, err = run("apply", "-f", vfs_cfg, "--json")
check(rc == 0, "apply succeeds", err)
actions = json.loads(out)["actions"] if rc == 0 else []
check(len(actions) == 4, "apply carried out 4 steps", str(actions))
d = dev(PF)
check(d["sriov"]["numVFs"] == 3, "3 VFs enabled")
vfs = d["sriov"]["vfs"]
check(all(dev(v)["driver"] == "vfio-pci" for v in vfs), "every VF is bound to vfio-pci")
check(all(os.path.exists(os.path.join(ROOT, f"dev/vfio/{dev(v)['iommuGroup']}")) for v in vfs), "every VF's /dev/vfio/<group> exists")
rc, out, err = run("assert", "-f", vfs_cfg)
check(rc == 0, "assert after apply exits 0", out + err)
rc, out, err = run("apply", "-f", vfs_cfg, "--json")
check(rc == 0 and json.loads(out)["converged"] and json.loads(out)["actions"] == [], "a second apply changes nothing and says so", out + err)

# Passthrough of the whole PF: hand-offs released, VFs removed, PF to vfio-pci.
rc, out, err = run("apply", "-f", pt_cfg)
check(rc == 0, "apply passthrough succeeds", err)
d = dev(PF)
check(d["driver"] == "vfio-pci" and d["sriov"]["numVFs"] == 0, "the PF is on vfio-pci with no VFs", str(d))
check(all(dev(v) is None for v in vfs), "the VFs are gone")
rc, out, err = run("assert", "-f", pt_cfg)
check(rc == 0, "assert passthrough exits 0", out + err)

# Back to the host driver.
rc, out, err = run("apply", "-f", host_cfg)
check(rc == 0, "apply host succeeds", err)
d = dev(PF)
check(d["driver"] == host_driver, f"the PF is back on {host_driver}", str(d["driver"]))
with open(os.path.join(ROOT, f"sys/bus/pci/devices/{PF}/driver_override")) as f:
    check(f.read().strip() == "(null)", "driver_override is clear")
rc, out, err = run("assert", "-f", host_cfg)
check(rc == 0, "assert host exits 0", out + err)
rc, out, err = run("passthrough", "list", "--json")
check(rc == 0 and json.loads(out)["devices"] == [], "nothing is left assigned", out)

S.finish()
