#!/usr/bin/python3
"""Saves or compares what vgpuctl prints on every simulated model and on the real H200 capture,
so a speed-up can be checked for "no behaviour change" byte by byte.

    python3 Benchmarks/outputs.py --bin PATH --save DIR      # write the outputs to DIR
    python3 Benchmarks/outputs.py --bin PATH --compare DIR   # exit 1 and name every difference

For each host model (`vgpuctl sim models`) with its default vGPU interface, and for h100x8 with
each interface, a simulated host is created at a fixed path (outputs name it), then `list`,
`list --all`, `vf list` (table and --json each), `plan` and `assert` of a host config are run
before and after `apply` of that config; stdout, stderr and exit status are recorded. The
config gives every GPU 4 VFs handed to VFIO, or, on a host with vGPU types, 3 VFs of the
GPU's first type. The H200 capture (`../shared/data/h200-vm`, or $VGPUCTL_SHARED/data/h200-vm)
is copied with its links restored as the tests do, and listed.
"""
import json
import os
import shutil
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARGS = sys.argv[1:]


def arg(name):
    return ARGS[ARGS.index(name) + 1] if name in ARGS else None


BIN = arg("--bin")
SAVE, COMPARE = arg("--save"), arg("--compare")
if not BIN or bool(SAVE) == bool(COMPARE):
    raise SystemExit("usage: outputs.py --bin PATH (--save DIR | --compare DIR)")
WORK = f"/tmp/vgpuctl-outputs-{os.getuid()}"
SHARED = os.environ.get("VGPUCTL_SHARED", os.path.join(os.path.dirname(REPO), "shared"))
ENV = dict(os.environ)
ENV.pop("VGPUCTL_ROOT", None)


def run(args, root=None):
    p = subprocess.run([BIN, *args] + (["--root", root] if root else []), capture_output=True, text=True, env=ENV)
    return {"args": args, "status": p.returncode, "stdout": p.stdout, "stderr": p.stderr}


def views(root, cfg):
    out = [run(a, root) for a in (["list"], ["list", "--json"], ["list", "--all"], ["list", "--all", "--json"],
                                   ["vf", "list"], ["vf", "list", "--json"])]
    if cfg:
        out += [run(a, root) for a in (["plan", "-f", cfg], ["plan", "-f", cfg, "--json"], ["assert", "-f", cfg],
                                       ["assert", "-f", cfg, "--json"])]
    return out


def first_type(root):
    """The first vGPU type of the host's first SR-IOV GPU, or None."""
    listing = json.loads(run(["list", "--json"], root)["stdout"] or "{}")
    for d in listing.get("devices", []):
        if d.get("isGPU") and d.get("sriov"):
            p = run(["profile", "list", d["address"], "--json"], root)
            if p["status"] != 0:
                return None
            for gpu in json.loads(p["stdout"]).get("gpus", []):
                for t in gpu.get("types", []):
                    return t["name"]
    return None


def sim_case(name, model, iface):
    root = os.path.join(WORK, name)
    args = ["sim", "create", root, "--model", model] + (["--vgpu-interface", iface] if iface else [])
    created = run(args)
    if created["status"] != 0:
        return [created]
    t = first_type(root) if iface != "none" else None
    cfg = os.path.join(WORK, name + ".yaml")
    with open(cfg, "w") as f:
        body = f"      vfs: 3\n      types: {{{t}: 3}}\n" if t else "      vfs: 4\n      vfioHandoff: true\n"
        f.write("version: 1\nconfigs:\n  default:\n    - select: all\n      mode: vgpu\n" + body)
    out = [created] + views(root, cfg)
    out.append(run(["apply", "-f", cfg], root))
    return out + views(root, cfg)


def h200_case():
    src = os.path.join(SHARED, "data", "h200-vm")
    if not os.path.isdir(os.path.join(src, "sys")):
        raise SystemExit(f"the H200 capture is missing at {src} (set VGPUCTL_SHARED)")
    dst = os.path.join(WORK, "h200")
    subprocess.run(["cp", "-a", src, dst], check=True)
    subprocess.run(["chmod", "-R", "u+w", dst], check=True)
    restore_links(dst)
    cfg = os.path.join(WORK, "h200.yaml")
    with open(cfg, "w") as f:
        f.write('version: 1\nconfigs:\n  default:\n    - select: {address: "0000:00:06.0"}\n      mode: passthrough\n')
    return views(dst, cfg)


def restore_links(dst):
    """The capture stores links as small files holding `../...`: make them links again
    (what Tests/TestSupport/HostTrees.swift's h200Copy does), and put the GPU's proc file where
    the driver has it."""
    for dirpath, _, files in os.walk(os.path.join(dst, "sys")):
        for n in files:
            p = os.path.join(dirpath, n)
            if os.path.islink(p) or os.path.getsize(p) >= 512:
                continue
            with open(p, "rb") as f:
                d = f.read()
            try:
                t = d.decode()
            except UnicodeDecodeError:
                continue
            if t.startswith("../") and "\n" not in t:
                os.remove(p)
                os.symlink(t, p)
    proc = os.path.join(dst, "proc/driver/nvidia/gpus/0000:00:06.0")
    os.makedirs(proc, exist_ok=True)
    shutil.copy(os.path.join(dst, "proc-driver-nvidia-gpus-0000:00:06.0-information.txt"), proc + "/information")


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    models = json.loads(run(["sim", "models", "--json"])["stdout"])
    cases = {f"{m}-default": (m, None) for m in models}
    for iface in ("vendor", "mdev", "upstream", "none"):
        cases[f"h100x8-{iface}"] = ("h100x8", iface)
    results = {name: sim_case(name, m, i) for name, (m, i) in cases.items()}
    results["h200-capture"] = h200_case()
    shutil.rmtree(WORK, ignore_errors=True)
    if SAVE:
        os.makedirs(SAVE, exist_ok=True)
        for name, rs in results.items():
            with open(os.path.join(SAVE, name + ".json"), "w") as f:
                json.dump(rs, f, indent=1)
        print(f"saved {sum(len(r) for r in results.values())} outputs of {len(results)} hosts in {SAVE}")
        return
    diffs = 0
    for name, rs in results.items():
        with open(os.path.join(COMPARE, name + ".json")) as f:
            saved = json.load(f)
        if len(saved) != len(rs):
            print(f"{name}: {len(rs)} commands now, {len(saved)} saved")
            diffs += 1
            continue
        for a, b in zip(saved, rs):
            for k in ("status", "stdout", "stderr"):
                if a[k] != b[k]:
                    diffs += 1
                    print(f"{name}: vgpuctl {' '.join(b['args'])}: {k} differs")
                    if k != "status":
                        import difflib
                        for line in list(difflib.unified_diff(a[k].splitlines(), b[k].splitlines(), lineterm=""))[:20]:
                            print("    " + line)
                    else:
                        print(f"    saved {a[k]}, now {b[k]}")
    n = sum(len(r) for r in results.values())
    print(f"{n} outputs of {len(results)} hosts compared: {'identical' if diffs == 0 else f'{diffs} differ'}")
    sys.exit(1 if diffs else 0)


main()
