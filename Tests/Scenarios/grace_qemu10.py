#!/usr/bin/python3
"""vgpuctl's Grace and EGM arguments judged by a real QEMU 10 (no Grace hardware needed).

Usage: grace_qemu10.py VGPUCTL QEMU10 MODEL WORKDIR

Creates the simulated host MODEL (gh200x4, gb200x4) in WORKDIR, asks `vgpuctl qemu args --plan
--qemu QEMU10` for all its Grace GPUs and starts QEMU 10 with those arguments, changing only:
- each `vfio-pci-nohotplug,host=...` GPU becomes a `pci-testdev` with the same id (and bus/addr):
  no real GPU exists here;
- `prealloc=on` of each EGM `memory-backend-file` becomes `prealloc=off`: the EGM regions are
  hundreds of GiB; their files (the simulated /dev/egmN) are left sparse.
The guest's own node 0 (vCPU + 256 MiB) is added, and `-m` is node 0 plus the EGM sizes, as
vgpuctl's note says QEMU requires. QEMU runs (SeaBIOS builds and loads the ACPI tables; there is
no guest OS); then over QMP:
- `qom-list /objects` holds every `giN` vgpuctl wrote, of type acpi-generic-initiator;
- the SRAT QEMU built (read from guest memory with `pmemsave`, found through the RSDP) has one
  Generic Initiator Affinity entry (type 5) per (GPU, node) naming that GPU's guest PCI address
  and exactly the node vgpuctl gave it, and a Memory Affinity entry per EGM node whose length is
  the size vgpuctl computed;
- `query-memdev` lists each EGM backend with that size and `share`; `info numa` shows each EGM
  node's size.
Prints "ok ..." / "not ok ..." per check and "PASS: 0 failed" at the end.
"""
import json
import os
import re
import socket
import struct
import subprocess
import sys
import time

VGPUCTL, QEMU10, MODEL, WORK = sys.argv[1:5]
failures = 0


def check(cond, what, detail=""):
    global failures
    print(("ok - " if cond else "not ok - ") + what + ("" if cond else f" {detail}"), flush=True)
    if not cond:
        failures += 1


def vg(*args):
    p = subprocess.run([VGPUCTL, *args], capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


os.makedirs(WORK, exist_ok=True)
root = os.path.join(WORK, MODEL)
rc, out, err = vg("sim", "create", root, "--model", MODEL, "--force")
check(rc == 0, f"sim create {MODEL}", err)
rc, out, err = vg("--root", root, "list", "--json")
gpus = [d["address"] for d in json.loads(out)["devices"] if d.get("vendorID") == "10de"] if rc == 0 else []
check(len(gpus) == 4, f"{MODEL} has four GPUs", out[:500])
rc, out, err = vg("--root", root, "qemu", "args", "--plan", *gpus, "--qemu", QEMU10, "--json")
check(rc == 0, "vgpuctl qemu args --plan --qemu QEMU10 for every GPU", err)
if rc != 0:
    print(f"FAIL: {failures} failed")
    sys.exit(1)
args = json.loads(out)

# What vgpuctl asked for, read back from its own arguments.
gpu_ids, gi_nodes, egm = {}, {}, {}
for opt, val in zip(args[0::2], args[1::2]):
    kv = dict(p.split("=", 1) for p in val.split(",")[1:] if "=" in p)
    kind = val.split(",")[0]
    if opt == "-device" and kind == "vfio-pci-nohotplug":
        gpu_ids[kv["id"]] = kv["host"]
    elif opt == "-object" and kind == "acpi-generic-initiator":
        gi_nodes[kv["id"]] = (kv["pci-dev"], int(kv["node"]))
    elif opt == "-object" and kind == "memory-backend-file":
        egm[kv["id"]] = {"path": kv["mem-path"], "size": int(kv["size"])}
    elif opt == "-numa" and "memdev" in kv:
        egm[kv["memdev"]]["node"] = int(kv["nodeid"])
check(len(gpu_ids) == 4 and len(gi_nodes) == 32, "four GPUs with eight generic initiators each", f"{gpu_ids} {len(gi_nodes)}")
check(egm and all("node" in e for e in egm.values()), "every EGM backend is a NUMA node's memdev", str(egm))

# The stand-ins: pci-testdev for each GPU, EGM files left sparse.
run_args = []
for opt, val in zip(args[0::2], args[1::2]):
    if opt == "-device" and val.startswith("vfio-pci-nohotplug,"):
        keep = [p for p in val.split(",")[1:] if p.split("=")[0] in ("id", "bus", "addr")]
        val = ",".join(["pci-testdev", *keep])
    if opt == "-object" and val.startswith("memory-backend-file,"):
        val = val.replace("prealloc=on", "prealloc=off")
    run_args += [opt, val]
node0 = 256 << 20
total = node0 + sum(e["size"] for e in egm.values())
sock = os.path.join(WORK, f"{MODEL}.qmp")
if os.path.exists(sock):
    os.unlink(sock)
# phys-bits: TCG's default 40 bits address 1 TiB; four 400 GiB EGM nodes need more.
cmd = [QEMU10, "-nodefaults", "-display", "none", "-machine", "q35", "-accel", "tcg", "-cpu", "qemu64,phys-bits=44",
       "-smp", "1", "-m", f"{total >> 20}M", "-object", f"memory-backend-ram,id=ram0,size={node0}",
       "-numa", "node,nodeid=0,cpus=0,memdev=ram0", *run_args, "-qmp", f"unix:{sock},server=on,wait=off"]
print("starting:", " ".join(cmd), flush=True)
q = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


class QMP:
    def __init__(self, path):
        deadline = time.time() + 60
        while True:
            if q.poll() is not None:
                raise RuntimeError("QEMU exited: " + q.stderr.read())
            try:
                self.s = socket.socket(socket.AF_UNIX)
                self.s.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                self.s.close()
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        self.f = self.s.makefile("rw")
        json.loads(self.f.readline())
        self.cmd("qmp_capabilities")

    def cmd(self, name, **arguments):
        self.f.write(json.dumps({"execute": name, **({"arguments": arguments} if arguments else {})}) + "\n")
        self.f.flush()
        while True:
            r = json.loads(self.f.readline())
            if "return" in r or "error" in r:
                return r


def mem(m, addr, length):
    path = os.path.join(WORK, "pmem.bin")
    r = m.cmd("pmemsave", val=addr, size=length, filename=path)
    if "error" in r:
        raise RuntimeError(str(r))
    with open(path, "rb") as f:
        return f.read()


def find_srat(m):
    """The SRAT SeaBIOS loaded: RSDP in 0xE0000-0xFFFFF, then RSDT's table pointers."""
    deadline = time.time() + 120
    while time.time() < deadline:
        low = mem(m, 0xE0000, 0x20000)
        i = low.find(b"RSD PTR ")
        if i >= 0 and i % 16 == 0:
            rsdt = struct.unpack_from("<I", low, i + 16)[0]
            hdr = mem(m, rsdt, 36)
            if hdr[:4] == b"RSDT":
                n = (struct.unpack_from("<I", hdr, 4)[0] - 36) // 4
                for p in struct.unpack_from(f"<{n}I", mem(m, rsdt + 36, 4 * n)):
                    h = mem(m, p, 8)
                    if h[:4] == b"SRAT":
                        return mem(m, p, struct.unpack_from("<I", h, 4)[0])
        time.sleep(0.5)
    return None


try:
    m = QMP(sock)
    srat = find_srat(m)
    check(srat is not None, "QEMU 10 ran and SeaBIOS loaded an SRAT")
    listed = {o["name"]: o["type"] for o in m.cmd("qom-list", path="/objects").get("return", [])}
    check(all(listed.get(g) == "child<acpi-generic-initiator>" for g in gi_nodes),
          "qom-list /objects holds every generic initiator vgpuctl wrote", str(listed))
    # Where QEMU put each stand-in GPU (its guest PCI address, for the SRAT's device handles).
    where = {}
    for bus in m.cmd("query-pci").get("return", []):
        for d in bus.get("devices", []):
            if d.get("qdev_id") in gpu_ids:
                where[d["qdev_id"]] = (bus["bus"], d["slot"], d["function"])
    check(set(where) == set(gpu_ids), "query-pci lists every GPU stand-in", str(where))
    gis, mems = [], []
    if srat:
        off = 48
        while off + 2 <= len(srat):
            t, ln = srat[off], srat[off + 1]
            if ln == 0:
                break
            if t == 5:  # Generic Initiator Affinity: handle type, domain, PCI segment, bus, devfn
                htype, dom, seg = srat[off + 3], struct.unpack_from("<I", srat, off + 4)[0], struct.unpack_from("<H", srat, off + 8)[0]
                gis.append((htype, dom, seg, srat[off + 10], srat[off + 11]))
            elif t == 1:  # Memory Affinity: domain, base, length
                dom, base, length = struct.unpack_from("<I", srat, off + 2)[0], *struct.unpack_from("<QQ", srat, off + 8)
                mems.append((dom, base, length))
            off += ln
    want = sorted((1, node, 0, where[dev][0], (where[dev][1] << 3) | where[dev][2])
                  for dev, node in gi_nodes.values() if dev in where)
    check(sorted(gis) == want and len(want) == 32,
          "the SRAT binds each generic initiator to its GPU and the node vgpuctl gave it (32 entries)",
          f"got {sorted(gis)[:8]}... want {want[:8]}...")
    for mid, e in sorted(egm.items()):
        sizes = [length for dom, base, length in mems if dom == e["node"]]
        check(sum(sizes) == e["size"], f"SRAT: EGM node {e['node']} ({mid}) spans {e['size']} bytes", str(sizes))
    devs = {d["id"]: d for d in m.cmd("query-memdev").get("return", [])}
    for mid, e in sorted(egm.items()):
        d = devs.get(mid, {})
        check(d.get("size") == e["size"] and d.get("share") is True, f"query-memdev: {mid} is {e['size']} bytes, shared", str(d))
        check(os.path.getsize(e["path"]) == e["size"], f"{mid}'s file {e['path']} has the size vgpuctl computed")
    numa = m.cmd("human-monitor-command", **{"command-line": "info numa"}).get("return", "")
    for mid, e in sorted(egm.items()):
        check(re.search(rf"node {e['node']} size: {e['size'] >> 20} MB", numa) is not None,
              f"info numa: node {e['node']} has {e['size'] >> 20} MB", numa)
    m.cmd("quit")
except (RuntimeError, OSError, ValueError) as ex:
    check(False, "QEMU 10 runs vgpuctl's Grace arguments", str(ex))
finally:
    try:
        q.wait(timeout=30)
    except subprocess.TimeoutExpired:
        q.kill()
    for e in egm.values():
        if os.path.exists(e["path"]):
            os.truncate(e["path"], 0)
print(f"{'FAIL' if failures else 'PASS'}: {failures} failed")
sys.exit(1 if failures else 0)
