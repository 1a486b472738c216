#!/usr/bin/env python3
"""Validates every --json output of vgpuctl against its JSON Schema in schemas/.

usage: validate.py VGPUCTL [--save DIR]

1. The commands that take --json come from the argument parser's own dump
   (`vgpuctl --experimental-dump-help`). Each must have schemas/<command words joined by
   '-'>.schema.json, every schema must belong to such a command, and every such command must be
   run below: a command that gains --json without a schema or a run here fails the test.
2. On every simulated model (`vgpuctl sim models --json`) each command runs on a fresh
   simulated host, and its output is validated with the `jsonschema` package (Draft 2020-12).
   `qmp` commands talk to a QMP server played by this script (the replies QEMU sends).
Exit 0 when everything validates, 1 otherwise (each failure on one line).
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading

import jsonschema

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCHEMAS = os.path.join(REPO, "schemas")

failures = []
ran = {}          # command -> number of validated outputs


class Host:
    """A fresh simulated host of a model, and vgpuctl run against it."""

    def __init__(self, vgpuctl, model, tmp, interface="none"):
        self.vgpuctl = vgpuctl
        self.model = model
        self.root = tempfile.mkdtemp(prefix=f"{model}-{interface}-", dir=tmp) + "/host"
        self.interface = interface
        out = self.json("sim create", ["sim", "create", self.root, "--model", model, "--vgpu-interface", interface], root=False)
        assert out is not None, f"sim create {model} failed"

    def run(self, args, root=True, stdin=None):
        cmd = [self.vgpuctl] + (["--root", self.root] if root else []) + args
        env = dict(os.environ)
        env.pop("VGPUCTL_ROOT", None)
        return subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=120, env=env)

    def json(self, command, args, root=True, stdin=None, status=0):
        """Runs `args --json`, validates stdout against the command's schema, returns it parsed."""
        p = self.run(args + ["--json"], root=root, stdin=stdin)
        where = f"{self.model}/{self.interface}: vgpuctl {' '.join(args)} --json"
        if p.returncode != status:
            failures.append(f"{where}: exit {p.returncode} (expected {status}): {p.stderr.strip()}")
            return None
        if status != 0 and not p.stdout.strip():
            return None          # a refusal: one line on stderr, no JSON
        try:
            value = json.loads(p.stdout)
        except ValueError as e:
            failures.append(f"{where}: not JSON ({e}): {p.stdout[:200]!r}")
            return None
        validate(command, value, where)
        if SAVE:
            d = os.path.join(SAVE, command.replace(" ", "-"))
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, f"{self.model}-{self.interface}-{len(os.listdir(d))}.json"), "w") as f:
                json.dump(value, f, indent=1)
        return value


schemas = {}
booted = []       # (host, pf) whose gsp-stub is stopped at the end


def schema_file(command):
    return os.path.join(SCHEMAS, command.replace(" ", "-") + ".schema.json")


def validate(command, value, where):
    if command not in schemas:
        if not os.path.exists(schema_file(command)):
            return          # reported once, as a command without a schema
        with open(schema_file(command)) as f:
            schemas[command] = json.load(f)
        jsonschema.Draft202012Validator.check_schema(schemas[command])
    errors = sorted(jsonschema.Draft202012Validator(schemas[command]).iter_errors(value), key=lambda e: list(e.path))
    for e in errors[:5]:
        failures.append(f"{where}: {schema_file(command)}: at /{'/'.join(map(str, e.path))}: {e.message}")
    ran[command] = ran.get(command, 0) + 1


def json_commands(vgpuctl):
    """The commands whose arguments include --json, from the parser's own dump."""
    dump = json.loads(subprocess.run([vgpuctl, "--experimental-dump-help"], capture_output=True, text=True, check=True).stdout)
    found = []

    def walk(c, path):
        for a in c.get("arguments", []):
            if any(n.get("kind") == "long" and n.get("name") == "json" for n in a.get("names", [])):
                found.append(" ".join(path))
                break
        for s in c.get("subcommands", []):
            walk(s, path + [s["commandName"]])

    walk(dump["command"], [])
    return sorted(found)


class FakeQMP:
    """A QMP server on a unix socket that answers like QEMU 7.2 with one vfio-pci device
    'hostdev0' (host 0000:18:00.0) on a q35 machine, and emits DEVICE_DELETED on device_del."""

    def __init__(self, path, host_address):
        self.path = path
        self.host = host_address
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(8)
        self.devices = {"hostdev0": host_address}
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            conn, _ = self.sock.accept()
            threading.Thread(target=self.session, args=(conn,), daemon=True).start()

    def pci_devices(self):
        devs = [{"bus": 0, "slot": 0, "function": 0, "class_info": {"class": 1536, "desc": "Host bridge"},
                 "id": {"vendor": 32902, "device": 10688}, "qdev_id": "", "regions": []}]
        for i, (qid, host) in enumerate(sorted(self.devices.items())):
            devs.append({"bus": 0, "slot": 3 + i, "function": 0, "class_info": {"class": 770}, "id": {"vendor": 4318, "device": 9008},
                         "qdev_id": qid, "regions": []})
        return [{"bus": 0, "devices": devs}]

    def reply(self, cmd, args):
        if cmd == "qmp_capabilities":
            return {"return": {}}, []
        if cmd == "device_add":
            qid = args.get("id") or f"dev{len(self.devices)}"
            self.devices[qid] = args.get("host", "")
            return {"return": {}}, []
        if cmd == "device_del":
            qid = args.get("id")
            if qid not in self.devices:
                return {"error": {"class": "DeviceNotFound", "desc": f"Device '{qid}' not found"}}, []
            del self.devices[qid]
            return {"return": {}}, [{"event": "DEVICE_DELETED", "data": {"device": qid, "path": f"/machine/peripheral/{qid}"},
                                     "timestamp": {"seconds": 1, "microseconds": 0}}]
        if cmd == "query-pci":
            return {"return": self.pci_devices()}, []
        if cmd == "qom-list":
            path = args.get("path", "")
            if path == "/machine/peripheral":
                return {"return": [{"name": q, "type": "child<vfio-pci>"} for q in self.devices]}, []
            return {"return": [{"name": "host", "type": "str"}, {"name": "sysfsdev", "type": "str"}]}, []
        if cmd == "qom-get":
            path, prop = args.get("path", ""), args.get("property")
            qid = path.rsplit("/", 1)[-1]
            if prop == "type":
                return {"return": "vfio-pci"}, []
            if prop == "host":
                return {"return": self.devices.get(qid, "")}, []
            if prop == "sysfsdev":
                return {"return": ""}, []
            if prop == "addr":
                return {"return": "03.0"}, []
            return {"error": {"class": "GenericError", "desc": f"Property '{prop}' not found"}}, []
        return {"error": {"class": "CommandNotFound", "desc": f"The command {cmd} has not been found"}}, []

    def session(self, conn):
        f = conn.makefile("rwb")
        f.write(json.dumps({"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": ""},
                                    "capabilities": ["oob"]}}).encode() + b"\r\n")
        f.flush()
        for line in f:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            r, events = self.reply(msg.get("execute"), msg.get("arguments", {}))
            if "id" in msg:
                r["id"] = msg["id"]
            f.write(json.dumps(r).encode() + b"\r\n")
            for e in events:
                f.write(json.dumps(e).encode() + b"\r\n")
            f.flush()
        conn.close()


def first(devices, pred):
    return next((d for d in devices if pred(d)), None)


def run_model(vgpuctl, model, tmp):
    h = Host(vgpuctl, model, tmp)
    listed = h.json("list", ["list"])
    h.json("list", ["list", "--all"])
    h.json("egm list", ["egm", "list"])
    h.json("profile list", ["profile", "list"])
    h.json("vf list", ["vf", "list"])
    h.json("passthrough list", ["passthrough", "list"])
    h.json("gsp status", ["gsp", "status"])
    devices = listed["devices"] if listed else []
    gpus = [d for d in devices if d.get("isGPU")]
    pf = first(devices, lambda d: d.get("sriov") and d["sriov"]["totalVFs"] >= 2)
    if pf:
        a = pf["address"]
        h.json("vf enable", ["vf", "enable", a, "--count", "2"])
        h.json("vf list", ["vf", "list", a])
        h.json("list", ["list", "--device", a])
        h.json("vf disable", ["vf", "disable", a])
    gpu = first(gpus, lambda d: d.get("physfn") is None)
    if gpu:
        g = gpu["address"]
        grace = ["--qemu-version", "9.2"] if gpu.get("grace") else []
        assigned = h.json("passthrough assign", ["passthrough", "assign", g, "--include-group"])
        h.json("passthrough list", ["passthrough", "list"])
        h.json("qemu args", ["qemu", "args", g] + grace)
        h.json("qemu args", ["qemu", "args", g, "--device-json"] + grace)
        h.json("libvirt xml", ["libvirt", "xml", g] + grace)
        if assigned and not assigned.get("alreadyAssigned"):
            h.json("passthrough release", ["passthrough", "release", g])
        # The hook prepares an unmanaged <hostdev> of a GPU on its host driver, then releases it.
        xml = h.json("libvirt xml", ["libvirt", "xml", g, "--plan", "--unmanaged"] + grace)
        if xml is not None and not (assigned or {}).get("alreadyAssigned"):
            domain = f"<domain type='kvm'><name>vm1</name><devices>{''.join(xml.get('hostdevs', []))}</devices></domain>"
            h.json("libvirt-hook", ["libvirt-hook", "vm1", "prepare", "begin", "-"], stdin=domain)
            h.json("libvirt-hook", ["libvirt-hook", "vm1", "release", "end", "-"], stdin=domain)
        # Nothing to do (no managed <hostdev>, an operation the hook ignores): still JSON.
        empty = "<domain type='kvm'><name>vm2</name><devices/></domain>"
        h.json("libvirt-hook", ["libvirt-hook", "vm2", "prepare", "begin", "-"], stdin=empty)
        h.json("libvirt-hook", ["libvirt-hook", "vm2", "started", "begin", "-"], stdin=empty)
        h.json("libvirt-hook", ["libvirt-hook", "vm2", "release", "end", "-"], stdin=empty)
        if not gpu.get("grace"):      # Grace GPUs cannot be hot-plugged (exit 2, tested elsewhere)
            qmp_model(h, g, tmp)
        if assigned and assigned.get("alreadyAssigned"):
            h.json("passthrough release", ["passthrough", "release", g], status=2)
    # A host config that hands every GPU to VFIO: plan, apply, assert, recover.
    cfg = os.path.join(tempfile.mkdtemp(dir=tmp), "host.yaml")
    with open(cfg, "w") as f:
        f.write("version: 1\nconfigs:\n  default:\n    - select: all\n      mode: passthrough\n")
    h.json("plan", ["plan", "-f", cfg])
    h.json("assert", ["assert", "-f", cfg], status=1 if any(not d.get("vfioDriver") or d.get("driver") != d.get("vfioDriver") for d in gpus) else 0)
    h.json("apply", ["apply", "-f", cfg])
    h.json("assert", ["assert", "-f", cfg])
    h.json("recover", ["recover"])
    h.json("export nova", ["export", "nova"])
    h.json("device-plugin", ["device-plugin", "--print-kubevirt-config"])
    gsp_model(vgpuctl, model, tmp, gpus)
    vgpu_model(vgpuctl, model, tmp)


def qmp_model(h, gpu, tmp):
    sock = os.path.join(tempfile.mkdtemp(dir=tmp), "qmp.sock")
    FakeQMP(sock, gpu)
    h.json("qmp list", ["qmp", "list", "--socket", sock])
    h.json("passthrough assign", ["passthrough", "assign", gpu, "--include-group"])
    h.json("qmp attach", ["qmp", "attach", gpu, "--socket", sock, "--id", "hostdev1"])
    h.json("qmp detach", ["qmp", "detach", "--socket", sock, "--id", "hostdev0", "--timeout", "5"])


def gsp_model(vgpuctl, model, tmp, gpus):
    """gsp boot/ping/status/decode/stop and the control channel on a GPU that has GSP."""
    h = Host(vgpuctl, model, tmp, interface="upstream")
    pfs = [d["address"] for d in (h.json("list", ["list"]) or {"devices": []})["devices"] if d.get("isGPU") and d.get("sriov")]
    if not pfs:
        return
    pf = pfs[0]
    h.json("sim vgpu-mode", ["sim", "vgpu-mode", pf])
    h.json("sim vgpu-mode", ["sim", "vgpu-mode", pf, "enable"])
    boot = h.json("gsp boot", ["gsp", "boot", pf])
    if boot is None:
        return
    booted.append((h, pf))
    h.json("gsp status", ["gsp", "status"])
    h.json("gsp ping", ["gsp", "ping", pf, "--count", "3"])
    shared = os.path.join(h.root, "run/vgpuctl/gsp", pf, "gspmem")
    h.json("gsp decode", ["gsp", "decode", shared], root=False)
    h.json("control info", ["control", "info", pf])
    h.json("control types", ["control", "types", pf])
    h.json("control types", ["control", "types", pf, "--creatable"])
    h.json("gsp stop", ["gsp", "stop", pf])
    # The development firmware's wire format: its boot report has its own shape.
    if h.json("gsp boot", ["gsp", "boot", pf, "--firmware", "r000_00"]) is not None:
        h.json("gsp status", ["gsp", "status"])
        h.json("gsp stop", ["gsp", "stop", pf])


def vgpu_model(vgpuctl, model, tmp):
    """vf create/assign/clear and profile list through each vGPU interface the model offers."""
    for interface in ("vendor", "mdev", "upstream"):
        h = Host(vgpuctl, model, tmp, interface=interface)
        profiles = h.json("profile list", ["profile", "list"])
        gpus = (profiles or {}).get("gpus") if isinstance(profiles, dict) else profiles
        if not gpus:
            continue
        g = gpus[0]
        pf = g.get("pf") or g.get("address")
        types = [t for t in g.get("types", []) if t.get("available", 0) > 0] if isinstance(g, dict) else []
        if not pf or not types:
            failures.append(f"{model}/{interface}: profile list --json names no PF with an available type: {json.dumps(g)[:200]}")
            continue
        t = types[0]["name"]
        created = h.json("vf create", ["vf", "create", pf, "--type", t, "--count", "2"])
        h.json("profile list", ["profile", "list", pf, "--creatable"])
        listed = h.json("vf list", ["vf", "list", pf]) or {"pfs": []}
        vfs = [v["address"] for p in listed.get("pfs", []) for v in p.get("vfs", [])]
        if created is None or len(vfs) < 3:
            failures.append(f"{model}/{interface}: vf create --count 2 on {pf} left {len(vfs)} VFs (3 needed for vf assign/clear): {json.dumps(listed)[:200]}")
            continue
        if interface == "upstream":      # the firmware knows types once one was assigned
            h.json("control types", ["control", "types", pf])
            h.json("control info", ["control", "info", pf])
        h.json("vf assign", ["vf", "assign", vfs[2], "--type", t])
        h.json("vf clear", ["vf", "clear", vfs[2]])
        h.json("export nova", ["export", "nova"])
        h.json("device-plugin", ["device-plugin", "--print-kubevirt-config"])
        booted.append((h, pf))      # the upstream interface may have started a stub


def main():
    global SAVE
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    vgpuctl = os.path.abspath(sys.argv[1])
    SAVE = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--save" else None
    commands = json_commands(vgpuctl)
    have = sorted(f[: -len(".schema.json")].replace("-", " ") for f in os.listdir(SCHEMAS) if f.endswith(".schema.json"))
    have_files = {f[: -len(".schema.json")] for f in os.listdir(SCHEMAS) if f.endswith(".schema.json")}
    for c in commands:
        if c.replace(" ", "-") not in have_files:
            failures.append(f"'vgpuctl {c}' takes --json but has no schema: write {os.path.relpath(schema_file(c), REPO)}")
    for f in sorted(have_files):
        if f not in {c.replace(' ', '-') for c in commands}:
            failures.append(f"schemas/{f}.schema.json belongs to no vgpuctl command with --json")
    del have
    tmp = tempfile.mkdtemp(prefix="vgpuctl-schemas-")
    try:
        Host(vgpuctl, "h100x8", tmp).json("sim models", ["sim", "models"], root=False)
        models = [m["name"] if isinstance(m, dict) else m for m in
                  json.loads(subprocess.run([vgpuctl, "sim", "models", "--json"], capture_output=True, text=True, check=True).stdout)]
        for m in models:
            run_model(vgpuctl, m, tmp)
    finally:
        for h, pf in booted:
            h.run(["gsp", "stop", pf])
        shutil.rmtree(tmp, ignore_errors=True)
    for c in commands:
        if c.replace(" ", "-") in have_files and ran.get(c, 0) == 0:
            failures.append(f"'vgpuctl {c} --json' was never run and validated: add a run to {os.path.relpath(__file__, REPO)}")
    for f in failures:
        print("FAIL: " + f)
    print(f"validated {sum(ran.values())} outputs of {len(ran)} commands on {len(models)} models "
          f"against {len(have_files)} schemas; {len(failures)} failures")
    return 1 if failures else 0


SAVE = None
if __name__ == "__main__":
    sys.exit(main())
