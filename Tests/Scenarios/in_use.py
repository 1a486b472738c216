#!/usr/bin/python3
"""A function in use is not taken away: a process holds the NVMe PF's character node open,
`passthrough assign` of the PF is refused (exit 4) naming it; once the process exits, the
assignment succeeds (and is released again).

Usage: in_use.py VGPUCTL ROOT PF

On the real kernel (ROOT = /, the guest of Tests/RealKernel) the node is the nvme driver's
`/dev/nvme0`, found from the PF's sysfs subtree (`nvme/nvmeN/dev`) and matched by device
number. On a simulated host (the `qemu-nvme` model has no nvme class device), the script first
puts what the nvme driver would create under the root: `nvme/nvme0/dev` in the PF's directory
and the node `dev/nvme0` made with mknod; the simulator's node carries this machine's
`/dev/zero` number (1:5) so a process can open it, and vgpuctl matches it by that number.
"""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scenario import Scenario  # noqa: E402

VGPUCTL, ROOT, PF = sys.argv[1], sys.argv[2], sys.argv[3]
S = Scenario(VGPUCTL, ROOT)
run, check = S.run, S.check
REAL = os.path.realpath(ROOT) == "/"


def under_root(path):
    return os.path.join(ROOT, path.lstrip("/"))


def driver(a):
    link = under_root(f"sys/bus/pci/devices/{a}/driver")
    return os.path.basename(os.readlink(link)) if os.path.islink(link) else None


pf_dir = os.path.realpath(under_root(f"sys/bus/pci/devices/{PF}"))
run("vf", "disable", PF)                        # no VFs: the PF alone in its group
check(driver(PF) == "nvme", f"{PF} is bound to nvme", str(driver(PF)))

# The PF's character node: nvme/nvmeN/dev under its sysfs directory.
nvme_dir = os.path.join(pf_dir, "nvme")
if not REAL and not os.path.isdir(nvme_dir):
    os.makedirs(os.path.join(nvme_dir, "nvme0"))
    with open(os.path.join(nvme_dir, "nvme0", "dev"), "w") as f:
        f.write("1:5\n")
    os.makedirs(under_root("dev"), exist_ok=True)
    os.mknod(under_root("dev/nvme0"), 0o600 | 0o020000, os.makedev(1, 5))
names = sorted(os.listdir(nvme_dir)) if os.path.isdir(nvme_dir) else []
check(len(names) == 1, f"{PF} has one nvme controller node in sysfs", str(names))
node = "/dev/" + names[0] if names else "/dev/nvme0"
with open(os.path.join(nvme_dir, names[0] if names else "nvme0", "dev")) as f:
    major, minor = map(int, f.read().split(":"))
st = os.stat(under_root(node))
check((os.major(st.st_rdev), os.minor(st.st_rdev)) == (major, minor), f"{node} is {major}:{minor}")

# A process holds the node open.
holder = subprocess.Popen(["/bin/sh", "-c", f"exec 3<'{under_root(node)}'; exec sleep 600"])
for _ in range(200):
    try:
        if os.readlink(f"/proc/{holder.pid}/fd/3").endswith(node):
            break
    except OSError:
        pass
    time.sleep(0.01)
if not REAL:                                    # the simulated host sees the real process
    os.makedirs(under_root("proc"), exist_ok=True)
    os.symlink(f"/proc/{holder.pid}", under_root(f"proc/{holder.pid}"))

rc, out, err = run("passthrough", "assign", PF)
check(rc == 4, f"passthrough assign {PF} is refused with exit 4 while pid {holder.pid} holds {node}", f"exit {rc}: {err}")
check(f"pid {holder.pid} (sleep) holds {node} open" in err and "--force" in err, "the refusal names the process and the node", err)
check(len(err.strip().split("\n")) == 1, "the refusal is one line", err)
check(driver(PF) == "nvme", f"{PF} is still bound to nvme", str(driver(PF)))

rc, out, err = run("list", "--all", "--json")
dev = next((d for d in json.loads(out)["devices"] if d["address"] == PF), {}) if rc == 0 else {}
check(dev.get("inUse") is True and any(u.get("pid") == holder.pid for u in dev.get("inUseBy", [])), "list --json shows the PF in use", out[:400])

holder.send_signal(signal.SIGKILL)
holder.wait()
if not REAL:
    os.unlink(under_root(f"proc/{holder.pid}"))

rc, out, err = run("passthrough", "assign", PF)
check(rc == 0, f"once the process exited, passthrough assign {PF} succeeds", err)
check(driver(PF) == "vfio-pci", f"{PF} is bound to vfio-pci", str(driver(PF)))
rc, out, err = run("passthrough", "release", PF)
check(rc == 0 and driver(PF) == "nvme", f"release gives {PF} back to nvme", err + str(driver(PF)))

S.finish()
