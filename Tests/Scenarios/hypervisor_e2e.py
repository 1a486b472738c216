#!/usr/bin/python3
"""The QEMU/libvirt hand-off on a real kernel, with real VFs and a real nested QEMU 7.2.

Usage: hypervisor_e2e.py VGPUCTL ROOT PF

Runs inside the Tests/RealKernel guest (ROOT = /, PF = the emulated NVMe PF with 4 VFs):
1. every non-Grace argument set `vgpuctl qemu args` writes (plain, placed with rombar, JSON
   -device) starts a QEMU 7.2 (-S) and `query-pci` lists each VF under vgpuctl's id, where the
   placement put it; --iommufd is refused naming the feature and QEMU 9.0;
2. `vgpuctl qmp attach` hot-plugs a VF into a running QEMU behind a pcie-root-port, `query-pci`
   (read here with an independent client) and `vgpuctl qmp list` show it; `qmp detach` without
   a guest OS reports that the guest did not release it and leaves it in place and assigned;
3. the libvirt hook prepares a VF the host config gives to the guest, refuses it to another
   guest, and releases it.
Prints "ok ..." / "not ok ..." per check and "PASS: 0 failed" at the end.
"""
import json
import os
import socket
import subprocess
import sys
import time

VGPUCTL, ROOT, PF = sys.argv[1], sys.argv[2], sys.argv[3]
failures = 0


def run(*args, stdin=""):
    p = subprocess.run([VGPUCTL, "--root", ROOT, *args], input=stdin, capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


def check(cond, what, detail=""):
    global failures
    print(("ok - " if cond else "not ok - ") + what + ("" if cond else f" {detail}"), flush=True)
    if not cond:
        failures += 1


def qdev(addr):
    return "hostdev-" + addr.replace(":", "-")


class VM:
    """A nested QEMU stopped with -S, with a QMP unix socket."""

    def __init__(self, name, args, paused=True):
        self.sock = f"/tmp/{name}.qmp"
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        cmd = ["qemu-system-x86_64", *(["-S"] if paused else []), "-nodefaults", "-display", "none", "-machine", "q35",
               "-accel", "tcg", "-m", "128", "-qmp", f"unix:{self.sock},server=on,wait=off", *args]
        print("starting:", " ".join(cmd), flush=True)
        self.p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 60
        while not os.path.exists(self.sock):
            if self.p.poll() is not None:
                raise RuntimeError("QEMU exited: " + self.p.stderr.read())
            if time.time() > deadline:
                raise RuntimeError("QEMU did not create its QMP socket")
            time.sleep(0.05)

    def qmp(self, *commands):
        """Runs (name, arguments) commands with an independent QMP client; returns the replies."""
        # QEMU creates the socket file (bind) a moment before it listens: retry a refused
        # connection until the deadline instead of failing on that race.
        deadline = time.time() + 60
        while True:
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect(self.sock)
                break
            except ConnectionRefusedError:
                s.close()
                if self.p.poll() is not None:
                    raise RuntimeError("QEMU exited: " + self.p.stderr.read())
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        f = s.makefile("rw")
        json.loads(f.readline())
        replies = []
        for name, arguments in [("qmp_capabilities", None), *commands]:
            msg = {"execute": name}
            if arguments:
                msg["arguments"] = arguments
            f.write(json.dumps(msg) + "\n")
            f.flush()
            while True:
                r = json.loads(f.readline())
                if "return" in r or "error" in r:
                    break
            replies.append(r)
        s.close()
        return replies[1:]

    def pci(self):
        """qdev id -> query-pci entry, bridges walked."""
        out = {}

        def walk(devices):
            for d in devices:
                if d.get("qdev_id"):
                    out[d["qdev_id"]] = d
                walk(d.get("pci_bridge", {}).get("devices", []))
        for bus in self.qmp(("query-pci", None))[0].get("return", []):
            walk(bus.get("devices", []))
        return out

    def wait_for_bus_numbers(self, bridges, timeout=180):
        """Waits until the firmware numbered the bridges' secondary buses (query-pci lists the
        devices behind a bridge only then)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            found = self.pci()
            if all(found.get(b, {}).get("pci_bridge", {}).get("bus", {}).get("secondary", 0) != 0 for b in bridges):
                return True
            time.sleep(0.5)
        return False

    def quit(self):
        try:
            self.qmp(("quit", None))
        except OSError:
            pass
        self.p.wait(timeout=60)


run("vf", "disable", PF, "--force")
rc, out, err = run("vf", "enable", PF, "--count", "3", "--json")
check(rc == 0, "vf enable --count 3", err)
vfs = [v["address"] for v in json.loads(out)["vfs"]] if rc == 0 else []
if len(vfs) != 3:
    print("FAIL: no VFs")
    sys.exit(1)
for vf in vfs:
    rc, out, err = run("passthrough", "assign", vf)
    check(rc == 0, f"passthrough assign {vf}", err)

# 1. Argument sets, each started for real.
sets = [
    ("plain", [], None),
    ("placed", ["--bus", "pcie.0", "--addr", "05", "--rombar", "0"], 5),
    ("json", ["--device-json", "--bus", "pcie.0", "--addr", "0x7"], 7),
]
for name, extra, slot in sets:
    rc, out, err = run("qemu", "args", vfs[0], vfs[1], "--json", *extra)
    check(rc == 0, f"qemu args ({name})", err)
    args = json.loads(out) if rc == 0 else []
    if name == "json":
        check(all(a.startswith("{") for a in args[1::2]), "the -device values are JSON", str(args))
    try:
        vm = VM(f"args-{name}", args)
    except RuntimeError as e:
        check(False, f"QEMU 7.2 starts with the {name} arguments", str(e))
        continue
    found = vm.pci()
    for k, vf in enumerate(vfs[:2]):
        d = found.get(qdev(vf))
        check(d is not None, f"{name}: query-pci lists {qdev(vf)}", json.dumps(found)[:1500])
        if d:
            ids = d.get("id", {})
            check(ids.get("vendor") == 0x1b36 and ids.get("device") == 0x0010, f"{name}: {vf} shows 1b36:0010", str(ids))
            if slot is not None:
                check(d.get("bus") == 0 and d.get("slot") == slot + k and d.get("function") == 0,
                      f"{name}: {vf} sits at 00:{slot + k:02x}.0", str(d))
    vm.quit()

rc, out, err = run("qemu", "args", vfs[0], "--iommufd")
check(rc == 1 and "iommufd" in err and "9.0" in err, "--iommufd with QEMU 7.2 names iommufd and 9.0", f"{rc} {err}")

# 2. Hot-plug into a running QEMU (its firmware, SeaBIOS, numbers the root ports' buses; there
#    is no guest OS, so nothing answers an unplug request).
vm = VM("hotplug", ["-device", "pcie-root-port,id=rp1,chassis=1,bus=pcie.0,addr=08.0",
                    "-device", "pcie-root-port,id=rp2,chassis=2,bus=pcie.0,addr=09.0"], paused=False)
check(vm.wait_for_bus_numbers(["rp1", "rp2"]), "the running VM's firmware numbered its root ports")
vf = vfs[2]
rc, out, err = run("qmp", "attach", "--socket", vm.sock, vf, "--bus", "rp1", "--json")
check(rc == 0, f"qmp attach {vf} --bus rp1", err)
added = json.loads(out) if rc == 0 else {}
check(added.get("id") == qdev(vf) and added.get("host") == vf, "qmp attach reports the id and host device", out)
check(added.get("vendorID") == "1b36" and added.get("deviceID") == "0010", "qmp attach reports the ids the guest sees", out)
check(added.get("guestAddress") == "01:00.0", "qmp attach reports where the guest sees it (behind rp1, bus 1)", out)
found = vm.pci()
d = found.get(qdev(vf))
check(d is not None and d.get("id", {}).get("vendor") == 0x1b36, f"query-pci (independent client) lists {qdev(vf)}", json.dumps(found)[:1500])
rc, out, err = run("qmp", "list", "--socket", vm.sock, "--json")
listed = json.loads(out)["devices"] if rc == 0 else []
check([(x["id"], x["host"]) for x in listed] == [(qdev(vf), vf)], "qmp list shows the VF", out + err)
rc, out, err = run("passthrough", "list", "--json")
held = [x for x in json.loads(out)["devices"] if x["address"] == vf] if rc == 0 else []
check(held and held[0]["openBy"] and "qemu" in held[0]["openBy"][0]["command"], "passthrough list shows QEMU holding the VF", out)
rc, out, err = run("qmp", "attach", "--socket", vm.sock, vf, "--bus", "rp2")
check(rc == 2 and "already has a device" in err, "attaching the same id again is refused (exit 2)", f"{rc} {err}")
rc, out, err = run("qmp", "attach", "--socket", vm.sock, PF, "--bus", "rp2")
check(rc == 2 and "not assigned" in err, "attaching an unassigned device is refused (exit 2)", f"{rc} {err}")
rc, out, err = run("qmp", "attach", "--socket", vm.sock, vfs[0])
check(rc == 1 and "GenericError" in err and "does not support hotplugging" in err, "QEMU's error class and description are shown", f"{rc} {err}")
rc, out, err = run("qmp", "detach", "--socket", vm.sock, "--id", qdev(vf), "--timeout", "3")
check(rc == 1 and "the guest did not release" in err and vf in err, "detach without a guest OS: the guest did not release it (exit 1)", f"{rc} {err}")
check(qdev(vf) in vm.pci(), "the VF is still in the VM after the failed detach")
rc, out, err = run("passthrough", "list", "--json")
check(rc == 0 and any(x["address"] == vf and x["driver"] == "vfio-pci" for x in json.loads(out)["devices"]),
      "and still assigned to vfio-pci", out)
vm.quit()
time.sleep(0.2)

for v in vfs:
    rc, out, err = run("passthrough", "release", v)
    check(rc == 0, f"passthrough release {v}", err)

# 3. The libvirt hook with a VF the host config gives to guest vm1.
os.makedirs(os.path.join(ROOT, "var/lib/vgpuctl"), exist_ok=True)
with open(os.path.join(ROOT, "var/lib/vgpuctl/guests.json"), "w") as f:
    json.dump({"format": 1, "vfs": {vfs[0]: "vm1"}}, f)
b, s_f = vfs[0].split(":")[1], vfs[0].split(":")[2]
xml = (f"<domain type='kvm'><name>vm1</name><devices><hostdev mode='subsystem' type='pci' managed='yes'>"
       f"<source><address domain='0x0000' bus='0x{b}' slot='0x{s_f.split('.')[0]}' function='0x{s_f.split('.')[1]}'/></source>"
       f"</hostdev></devices></domain>")
rc, out, err = run("libvirt-hook", "vm2", "prepare", "begin", "-", stdin=xml)
check(rc == 4 and "for guest 'vm1'" in err, "the hook refuses vm1's VF to vm2 (exit 4)", f"{rc} {err}")
rc, out, err = run("libvirt-hook", "vm1", "prepare", "begin", "-", stdin="<domain><devices>")
check(rc == 2 and "malformed" in err, "malformed domain XML: exit 2", f"{rc} {err}")
rc, out, err = run("libvirt-hook", "vm1", "prepare", "begin", "-", stdin=xml)
check(rc == 0, "prepare begin for vm1", err)
rc, out, err = run("list", "--all", "--json")
drv = {d["address"]: d["driver"] for d in json.loads(out)["devices"]} if rc == 0 else {}
check(drv.get(vfs[0]) == "vfio-pci", f"{vfs[0]} is bound to vfio-pci for vm1", str(drv.get(vfs[0])))
rc, out, err = run("libvirt-hook", "vm1", "release", "end", "-", stdin=xml)
check(rc == 0, "release end for vm1", err)
rc, out, err = run("list", "--all", "--json")
drv = {d["address"]: d["driver"] for d in json.loads(out)["devices"]} if rc == 0 else {}
check(drv.get(vfs[0]) is None, f"{vfs[0]} is unbound again", str(drv.get(vfs[0])))
os.unlink(os.path.join(ROOT, "var/lib/vgpuctl/guests.json"))

rc, out, err = run("vf", "disable", PF)
check(rc == 0, "vf disable", err)
print(f"{'FAIL' if failures else 'PASS'}: {failures} failed")
sys.exit(1 if failures else 0)
