#!/usr/bin/python3
"""End-to-end proof on a real kernel: a VF handed to a real nested QEMU through vgpuctl.

Usage: qemu_vfio_e2e.py VGPUCTL ROOT PF

Enables VFs on PF, assigns VF 1 with `vgpuctl passthrough assign`, starts
`qemu-system-x86_64 -S -nodefaults -display none -qmp stdio ... <vgpuctl qemu args>`, and
checks over QMP that `query-pci` lists the VF (vendor 0x1b36, device 0x0010 for QEMU's NVMe)
under the qdev id vgpuctl chose. While QEMU holds the VF, `vf disable` and `passthrough
release` must refuse (exit 4) naming the process. Then QEMU quits, the VF is released and the
VFs are disabled. Needs a real kernel with VFIO (the Tests/RealKernel guest).
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scenario import QMP, Scenario  # noqa: E402

VGPUCTL, ROOT, PF = sys.argv[1], sys.argv[2], sys.argv[3]
S = Scenario(VGPUCTL, ROOT)
run, check = S.run, S.check


run("vf", "disable", PF, "--force")
rc, out, err = run("vf", "enable", PF, "--count", "3", "--json")
check(rc == 0, "vf enable --count 3", err)
vfs = [v["address"] for v in json.loads(out)["vfs"]] if rc == 0 else []
vf = vfs[1] if len(vfs) > 1 else None
if vf is None:
    print("FAIL: no VFs"); sys.exit(1)
rc, out, err = run("passthrough", "assign", vf)
check(rc == 0, f"passthrough assign {vf}", err)
rc, out, err = run("qemu", "args", vf, "--json")
check(rc == 0, "qemu args", err)
args = json.loads(out) if rc == 0 else []
qdev_id = next((a.split("id=")[1] for a in args if "id=" in a), None)
check(qdev_id is not None, "qemu args carry an id", str(args))

qemu = ["qemu-system-x86_64", "-S", "-nodefaults", "-display", "none", "-qmp", "stdio",
        "-machine", "q35", "-accel", "tcg", "-m", "128", *args]
print("starting:", " ".join(qemu), flush=True)
q = QMP(qemu)
check("QMP" in q.greeting, "QMP greeting", str(q.greeting))
check("return" in q.execute("qmp_capabilities"), "qmp_capabilities")
r = q.execute("query-pci")
found = None
for bus in r.get("return", []):
    for dev in bus.get("devices", []):
        if dev.get("qdev_id") == qdev_id:
            found = dev
check(found is not None, f"query-pci lists qdev_id {qdev_id}", json.dumps(r)[:2000])
if found:
    ids = found.get("id", {})
    check(ids.get("vendor") == 0x1b36 and ids.get("device") == 0x0010, "the VF shows vendor 0x1b36 device 0x0010", str(ids))

# While QEMU holds the VF, vgpuctl refuses to pull it away.
rc, out, err = run("vf", "disable", PF)
check(rc == 4 and vf in err and "qemu" in err, "vf disable refuses while QEMU holds the VF (exit 4, names VF and process)", f"{rc} {err}")
rc, out, err = run("passthrough", "release", vf)
check(rc == 4 and "qemu" in err, "passthrough release refuses while QEMU holds the VF", f"{rc} {err}")
rc, out, err = run("passthrough", "list", "--json")
held = json.loads(out)["devices"][0]["openBy"] if rc == 0 else []
check(len(held) > 0 and "qemu" in held[0]["command"], "passthrough list shows QEMU holding the VF", out)

q.execute("quit")
q.p.wait(timeout=30)
time.sleep(0.2)
rc, out, err = run("passthrough", "release", vf)
check(rc == 0, f"passthrough release {vf} after QEMU quit", err)
rc, out, err = run("vf", "disable", PF)
check(rc == 0, "vf disable", err)
S.finish()
