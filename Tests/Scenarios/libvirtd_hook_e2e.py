#!/usr/bin/python3
"""A real libvirtd (11.3, bookworm-backports) runs vgpuctl's hook for a guest with a real VF.

Usage: libvirtd_hook_e2e.py VGPUCTL PF QEMU10 LIBVIRT_ROOT REPO

Runs inside the Tests/RealKernel guest only (ROOT = /, PF = the emulated NVMe PF): it mounts
tmpfs over libvirt's compiled-in directories (/etc/libvirt, /var/lib/libvirt, /var/cache/libvirt,
/var/log/libvirt, /run/libvirt), adds the libvirt-qemu user libvirt resolves at start (a bind
mount over /etc/passwd and /etc/group), installs contrib/libvirt/vgpuctl-hook as
/etc/libvirt/hooks/qemu.d/vgpuctl and starts libvirtd from LIBVIRT_ROOT. Then:
1. `virsh domxml-to-native qemu-argv` of a domain holding vgpuctl's `libvirt xml` for a VF shows
   the `-device` vgpuctl prints with `qemu args` (same driver and host, id = ua- + vgpuctl's id);
2. `virsh define` + `virsh start` of that TCG domain (emulator QEMU10, the VF managed='no', given
   to the guest by the host config): libvirt calls the hook at `prepare begin`, vgpuctl binds the
   VF to vfio-pci, QEMU starts with it (`query-pci` through `virsh qemu-monitor-command`);
3. `virsh destroy`: libvirt calls `release end` and vgpuctl gives the VF back (unbound).
Prints "ok ..." / "not ok ..." per check and "PASS: 0 failed" at the end.
"""
import json
import os
import shlex
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scenario import Scenario  # noqa: E402

VGPUCTL, PF, QEMU10, LVROOT, REPO = sys.argv[1:6]
S = Scenario(VGPUCTL, "/")
run, check = S.run, S.check
if os.environ.get("VGTEST_GUEST") != "1":
    print("libvirtd_hook_e2e.py mounts over /etc: run it inside the real-kernel guest")
    sys.exit(2)

LIB = f"{LVROOT}/usr/lib/x86_64-linux-gnu"
ENV = dict(os.environ, LD_LIBRARY_PATH=LIB, LIBVIRT_DRIVER_DIR=f"{LIB}/libvirt/connection-driver")
HOOKLOG = "/run/vgpuctl-hook-calls.log"
GUEST = "vg1"


def sh(*cmd, timeout=300):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=ENV)
    return p.returncode, p.stdout, p.stderr


def virsh(*args, timeout=300):
    return sh(f"{LVROOT}/usr/bin/virsh", "-c", "qemu:///system", *args, timeout=timeout)


def driver(addr):
    link = f"/sys/bus/pci/devices/{addr}/driver"
    return os.path.basename(os.readlink(link)) if os.path.islink(link) else None


# ---- libvirt's directories, user and hook, in this throw-away guest
for d in ["/etc/libvirt", "/var/lib/libvirt", "/var/cache/libvirt", "/var/log/libvirt", "/run/libvirt", "/run/lvx"]:
    os.makedirs(d, exist_ok=True) if d.startswith("/run") else None
    rc, _, err = sh("mount", "-t", "tmpfs", "tmpfs", d)
    check(rc == 0, f"tmpfs on {d}", err)
shutil.copytree(f"{LVROOT}/etc/libvirt", "/etc/libvirt", dirs_exist_ok=True)
with open("/etc/libvirt/qemu.conf", "w") as f:
    f.write('user = "root"\ngroup = "root"\ndynamic_ownership = 0\nremember_owner = 0\n'
            'cgroup_controllers = [ ]\nnamespaces = [ ]\nsecurity_driver = "none"\nstdio_handler = "file"\n')
for name, extra in [("passwd", "libvirt-qemu:x:64055:64055:Libvirt Qemu:/var/lib/libvirt:/usr/sbin/nologin\n"),
                    ("group", "libvirt-qemu:x:64055:\nkvm:x:64056:\nlibvirt:x:64057:\n")]:
    text = open(f"/etc/{name}").read()
    with open(f"/run/lvx/{name}", "w") as f:
        f.write(text + ("" if "\nlibvirt-qemu:" in text else extra))
    rc, _, err = sh("mount", "--bind", f"/run/lvx/{name}", f"/etc/{name}")
    check(rc == 0, f"libvirt-qemu in /etc/{name}", err)
os.makedirs("/etc/libvirt/hooks/qemu.d", exist_ok=True)
with open("/etc/libvirt/hooks/qemu.d/vgpuctl", "w") as f:
    # libvirt gives hooks a minimal environment: name vgpuctl, and log each call for the checks.
    f.write(f'#!/bin/sh\necho "$*" >> {HOOKLOG}\nVGPUCTL={VGPUCTL} exec {REPO}/contrib/libvirt/vgpuctl-hook "$@"\n')
os.chmod("/etc/libvirt/hooks/qemu.d/vgpuctl", 0o755)

rc, out, err = sh(f"{LVROOT}/usr/sbin/libvirtd", "-d", "-p", "/run/libvirt/libvirtd.pid")
check(rc == 0, "libvirtd 11.3 starts", err)
deadline = time.time() + 120
while not os.path.exists("/run/libvirt/libvirt-sock") and time.time() < deadline:
    time.sleep(0.2)
rc, out, err = virsh("version")
check(rc == 0 and "libvirt 11.3" in out.replace("library: ", ""), "virsh version names libvirt 11.3", out + err)

# ---- a VF the host config gives to the guest; vgpuctl's XML for it
run("vf", "disable", PF, "--force")
rc, out, err = run("vf", "enable", PF, "--count", "2", "--json")
check(rc == 0, "vf enable --count 2", err)
vfs = [v["address"] for v in json.loads(out)["vfs"]] if rc == 0 else []
if len(vfs) != 2:
    print("FAIL: no VFs")
    sys.exit(1)
vf = vfs[0]
with open("/var/lib/vgpuctl/guests.json", "w") as f:
    json.dump({"format": 1, "vfs": {vf: GUEST}}, f)
rc, out, err = run("libvirt", "xml", vf, "--plan", "--unmanaged", "--json")
check(rc == 0, "vgpuctl libvirt xml --plan --unmanaged", err)
hostdevs = json.loads(out)["hostdevs"] if rc == 0 else []
rc, out, err = run("qemu", "args", vf, "--plan", "--qemu", QEMU10, "--json")
check(rc == 0, "vgpuctl qemu args --plan", err)
qargs = json.loads(out) if rc == 0 else []
want = dict(p.split("=", 1) for p in qargs[1].split(",")[1:]) if len(qargs) == 2 else {}
ALIAS = next((h.split("<alias name='")[1].split("'")[0] for h in hostdevs if "<alias name='" in h), "?")
check(ALIAS == "ua-" + want.get("id", "?").replace(".", "-"), "vgpuctl's libvirt alias is ua- + its QEMU id", ALIAS)
domain = f"""<domain type='qemu'>
  <name>{GUEST}</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <emulator>{QEMU10}</emulator>
{chr(10).join(hostdevs)}
  </devices>
</domain>
"""
with open("/run/vg1.xml", "w") as f:
    f.write(domain)

# 1. domxml-to-native shows vgpuctl's -device
rc, out, err = virsh("domxml-to-native", "qemu-argv", "/run/vg1.xml")
check(rc == 0, "virsh domxml-to-native qemu-argv", err)
native = shlex.split(out)
devs = [json.loads(native[i + 1]) for i, a in enumerate(native[:-1]) if a == "-device" and native[i + 1].startswith("{")
        and "vfio-pci" in native[i + 1]]
print("libvirt's -device for the VF:", devs, flush=True)
check(len(devs) == 1 and devs[0].get("driver") == qargs[1].split(",")[0] and devs[0].get("host") == want.get("host")
      and devs[0].get("id") == ALIAS,
      f"libvirt's -device is vgpuctl's ({qargs[1] if len(qargs) == 2 else '?'}), id {ALIAS} (vgpuctl's alias)", out[:2000])
check(driver(vf) is None, "domxml-to-native changed nothing: the VF is still unbound", str(driver(vf)))

# 2. define + start: the hook binds the VF at prepare begin, QEMU starts with it
rc, out, err = virsh("define", "/run/vg1.xml")
check(rc == 0, "virsh define", err)
rc, out, err = virsh("start", GUEST, timeout=600)
check(rc == 0, "virsh start (the hook prepares the VF)", err + open("/var/log/libvirt/qemu/vg1.log").read()[-2000:]
      if os.path.exists("/var/log/libvirt/qemu/vg1.log") else err)
calls = open(HOOKLOG).read().splitlines() if os.path.exists(HOOKLOG) else []
print("hook calls:", calls, flush=True)
check(f"{GUEST} prepare begin -" in calls, "libvirt called the hook at prepare begin", str(calls))
check(driver(vf) == "vfio-pci", f"{vf} is bound to vfio-pci while {GUEST} runs", str(driver(vf)))
rc, out, err = virsh("qemu-monitor-command", GUEST, '{"execute":"query-pci"}')
ids = {}


def walk(devices):
    for d in devices:
        ids[d.get("qdev_id")] = d.get("id", {})
        walk(d.get("pci_bridge", {}).get("devices", []))


if rc == 0:
    for bus in json.loads(out).get("return", []):
        walk(bus.get("devices", []))
qid = ALIAS
check(ids.get(qid, {}).get("vendor") == 0x1b36, f"QEMU 10 under libvirt lists {qid} (query-pci)", out[:1500] + err)

# 3. destroy: release end gives the VF back
rc, out, err = virsh("destroy", GUEST)
check(rc == 0, "virsh destroy", err)
deadline = time.time() + 60
while driver(vf) is not None and time.time() < deadline:
    time.sleep(0.2)
calls = open(HOOKLOG).read().splitlines() if os.path.exists(HOOKLOG) else []
ops = [" ".join(c.split()[1:3]) for c in calls if c.startswith(GUEST + " ")]
check("release end" in ops, "libvirt called the hook at release end", str(calls))
check(ops[:1] == ["prepare begin"] and ops[-1:] == ["release end"], "prepare begin came first and release end last", str(ops))
check(driver(vf) is None, f"{vf} is unbound again after destroy", str(driver(vf)))

virsh("undefine", GUEST)
sh("sh", "-c", "kill $(cat /run/libvirt/libvirtd.pid)")
os.unlink("/var/lib/vgpuctl/guests.json")
rc, out, err = run("vf", "disable", PF)
check(rc == 0, "vf disable", err)
S.finish()
