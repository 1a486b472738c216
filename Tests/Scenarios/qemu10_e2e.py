#!/usr/bin/python3
"""A real VF through vgpuctl into a real QEMU 10, and iommufd as the kernel exposes it.

Usage: qemu10_e2e.py VGPUCTL ROOT PF QEMU10

Runs inside the Tests/RealKernel guest (ROOT = /, PF = the emulated NVMe PF with 4 VFs, QEMU10
= the wrapper Tests/Scenarios/install-qemu10.sh printed). Checks:
1. `vgpuctl qemu args VF --qemu QEMU10` detects QEMU 10 and its arguments start it (-S):
   QMP `query-version` says 10 and `query-pci` lists the VF (1b36:0010) under vgpuctl's id;
2. iommufd the way this kernel exposes it: the VF's `vfio-dev/vfioN` sysfs directory, whether
   it has a `dev` file (the VFIO cdev), `/dev/vfio/devices/vfioN` and `/dev/iommu`:
   - a kernel with iommufd and the VFIO cdev: `qemu args --iommufd` succeeds and QEMU 10 starts
     with `-object iommufd` and lists the VF;
   - a kernel without them (Debian's 6.1, 6.12 and 7.2 configs: CONFIG_IOMMUFD unset):
     `qemu args --iommufd` exits 1 naming /dev/iommu, and QEMU 10 itself, given
     `-object iommufd`, fails too (so vgpuctl's refusal is what QEMU would do).
Prints "ok ..." / "not ok ..." per check and "PASS: 0 failed" at the end.
"""
import glob
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scenario import Scenario  # noqa: E402

VGPUCTL, ROOT, PF, QEMU10 = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
S = Scenario(VGPUCTL, ROOT)
run, check = S.run, S.check


def start(args):
    """Starts QEMU 10 paused with QMP on stdio; returns (replies to query-version and
    query-pci, exit status, stderr)."""
    cmd = [QEMU10, "-S", "-nodefaults", "-display", "none", "-machine", "q35", "-accel", "tcg", "-m", "128",
           "-qmp", "stdio", *args]
    print("starting:", " ".join(cmd), flush=True)
    msgs = [{"execute": "qmp_capabilities"}, {"execute": "query-version"}, {"execute": "query-pci"}, {"execute": "quit"}]
    p = subprocess.run(cmd, input="".join(json.dumps(m) + "\n" for m in msgs), capture_output=True, text=True, timeout=120)
    replies = [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]
    answers = [r for r in replies if "return" in r or "error" in r]
    return answers, p.returncode, p.stderr


def pci_ids(query_pci):
    out = {}
    for bus in query_pci.get("return", []):
        for d in bus.get("devices", []):
            if d.get("qdev_id"):
                out[d["qdev_id"]] = d
    return out


run("vf", "disable", PF, "--force")
rc, out, err = run("vf", "enable", PF, "--count", "2", "--json")
check(rc == 0, "vf enable --count 2", err)
vfs = [v["address"] for v in json.loads(out)["vfs"]] if rc == 0 else []
if len(vfs) != 2:
    print("FAIL: no VFs")
    sys.exit(1)
vf = vfs[0]
rc, out, err = run("passthrough", "assign", vf)
check(rc == 0, f"passthrough assign {vf}", err)
qid = "hostdev-" + vf.replace(":", "-")

# 1. The group backend with QEMU 10.
rc, out, err = run("qemu", "args", vf, "--qemu", QEMU10, "--json")
check(rc == 0, "qemu args --qemu QEMU10", err)
args = json.loads(out) if rc == 0 else []
answers, status, stderr = start(args)
check(status == 0 and len(answers) == 4, "QEMU 10 starts with vgpuctl's arguments", f"{status} {stderr}")
if len(answers) == 4:
    v = answers[1].get("return", {}).get("qemu", {})
    check(v.get("major") == 10, "query-version says QEMU 10", str(v))
    d = pci_ids(answers[2]).get(qid)
    check(d is not None and d["id"]["vendor"] == 0x1b36 and d["id"]["device"] == 0x0010,
          f"query-pci lists {qid} as 1b36:0010", json.dumps(answers[2])[:1500])

# 2. iommufd as this kernel exposes it.
vdir = os.path.join(ROOT, f"sys/bus/pci/devices/{vf}/vfio-dev")
names = sorted(os.listdir(vdir)) if os.path.isdir(vdir) else []
print(f"kernel {os.uname().release}: vfio-dev: {names}", flush=True)
has_cdev_attr = bool(names) and os.path.exists(os.path.join(vdir, names[0], "dev"))
dev_nodes = sorted(os.path.basename(p) for p in glob.glob(os.path.join(ROOT, "dev/vfio/devices/*")))
has_iommu = os.path.exists(os.path.join(ROOT, "dev/iommu"))
print(f"vfio-dev/{names[0] if names else '-'}/dev: {has_cdev_attr}; /dev/vfio/devices: {dev_nodes}; /dev/iommu: {has_iommu}", flush=True)
check(len(names) == 1 and names[0].startswith("vfio"), "the bound VF has one vfio-dev/vfioN directory", str(names))
check(has_cdev_attr == bool(dev_nodes), "vfio-dev/vfioN/dev exists exactly when /dev/vfio/devices has the node",
      f"{has_cdev_attr} {dev_nodes}")

rc, out, err = run("qemu", "args", vf, "--iommufd", "--qemu", QEMU10, "--json")
raw = ["-object", "iommufd,id=iommufd0", "-device", f"vfio-pci,host={vf},iommufd=iommufd0,id={qid}"]
if has_iommu and has_cdev_attr:
    check(rc == 0, "qemu args --iommufd succeeds on a kernel with /dev/iommu and the VFIO cdev", err)
    args = json.loads(out) if rc == 0 else []
    check("iommufd,id=iommufd0" in args, "the arguments create the iommufd object", str(args))
    answers, status, stderr = start(args)
    d = pci_ids(answers[2]).get(qid) if len(answers) == 4 else None
    check(status == 0 and d is not None, f"QEMU 10 with iommufd lists {qid}", f"{status} {stderr}")
else:
    check(rc == 1 and ("/dev/iommu" in err or "VFIO device file" in err),
          "qemu args --iommufd exits 1 naming what the kernel lacks", f"{rc} {err}")
    answers, status, stderr = start(raw)
    check(status != 0 and ("iommu" in stderr or "vfio-dev" in stderr),
          "QEMU 10 itself fails with -object iommufd on this kernel", f"{status} {stderr}")
    print(f"QEMU 10 with -object iommufd: {stderr.strip()}", flush=True)

rc, out, err = run("passthrough", "release", vf)
check(rc == 0, f"passthrough release {vf}", err)
rc, out, err = run("vf", "disable", PF)
check(rc == 0, "vf disable", err)
S.finish()
