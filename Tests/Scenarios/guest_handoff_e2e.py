#!/usr/bin/python3
"""The main job on a real kernel (generic SR-IOV backend): a host config naming two guests ->
`vgpuctl apply` -> `vgpuctl qemu args --guest vm-a` -> a nested QEMU that lists vm-a's VF in
`query-pci`.

Usage: guest_handoff_e2e.py VGPUCTL ROOT PF WORKDIR

Needs a real kernel with VFIO (the Tests/RealKernel guest; QEMU's emulated NVMe PF, whose VFs
show vendor 0x1b36 device 0x0010). Ends with the PF back on its host driver and no VFs.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scenario import QMP, Scenario  # noqa: E402

VGPUCTL, ROOT, PF, WORK = sys.argv[1:5]
S = Scenario(VGPUCTL, ROOT)
run, check = S.run, S.check


def config(name, body):
    path = os.path.join(WORK, name + ".yaml")
    with open(path, "w") as f:
        f.write("version: 1\nconfigs:\n  default:\n" + f"    - select: {{address: \"{PF}\"}}\n" + body)
    return path


guests = config("guests", "      mode: vgpu\n      guests: {vm-a: 1, vm-b: 2}\n      vfioHandoff: true\n")
host = config("host", "      mode: host\n")

rc, out, err = run("apply", "-f", guests, "--json")
check(rc == 0, "apply a config with two guests", err)
rc, out, err = run("vf", "list", PF, "--json")
rows = json.loads(out)["pfs"][0]["vfs"] if rc == 0 else []
by_guest = {}
for r in rows:
    by_guest.setdefault(r["guest"], []).append(r)
check(len(by_guest.get("vm-a", [])) == 1 and len(by_guest.get("vm-b", [])) == 2, "vf list shows vm-a's VF and vm-b's two", out)
check(all(r["driver"] == "vfio-pci" for r in rows), "every guest VF is on vfio-pci", out)
vm_a = by_guest.get("vm-a", [{}])[0].get("address")

rc, out, err = run("qemu", "args", "--guest", "vm-a", "-f", guests, "--json")
check(rc == 0, "qemu args --guest vm-a", err)
args = json.loads(out) if rc == 0 else []
check(len([a for a in args if a.startswith("vfio-pci,")]) == 1 and any(f"host={vm_a}" in a for a in args),
      f"the arguments hand over vm-a's VF {vm_a} and nothing else", str(args))
qdev_id = next((a.split("id=")[1] for a in args if "id=" in a), None)

q = QMP(["qemu-system-x86_64", "-S", "-nodefaults", "-display", "none", "-qmp", "stdio",
         "-machine", "q35", "-accel", "tcg", "-m", "128", *args])
check("QMP" in q.greeting, "the nested QEMU started", str(q.greeting))
q.execute("qmp_capabilities")
found = None
for bus in q.execute("query-pci").get("return", []):
    for dev in bus.get("devices", []):
        if dev.get("qdev_id") == qdev_id:
            found = dev
check(found is not None and found.get("id", {}).get("vendor") == 0x1b36 and found.get("id", {}).get("device") == 0x0010,
      f"query-pci lists vm-a's VF as {qdev_id} (1b36:0010)", str(found))
# While the guest runs, applying a config that takes its VF away is refused.
rc, out, err = run("apply", "-f", host)
check(rc == 4 and "qemu" in err, "apply refuses to take the VF from the running guest (exit 4)", f"{rc} {err}")
q.execute("quit")
q.p.wait(timeout=30)

rc, out, err = run("apply", "-f", host)
check(rc == 0, "apply host mode afterwards", err)
rc, out, err = run("vf", "list", PF, "--json")
check(rc == 0 and json.loads(out)["pfs"][0]["numVFs"] == 0, "no VFs left", out)
S.finish()
