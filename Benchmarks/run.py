#!/usr/bin/python3
"""vgpuctl benchmarks: one command that builds in release mode, runs every benchmark and prints
a table (figure, reference, ratio, goal, met) or, with --json, the same as JSON.

    python3 Benchmarks/run.py [--json] [--runs N] [--no-stages] [--readme]

Every figure is measured next to a reference in the same run (these machines are noisy):
ratios are what to compare across runs, not absolute times. Medians of N runs. The binary
measured is the release build with the Swift runtime linked statically
(`swift build -c release --static-swift-stdlib`), what a package installs. The machine (CPU,
count, kernel) and its load average before and after the run are printed with the table: a
figure taken under load is no verdict on its goal.

--no-stages skips the stage benchmarks (GSP queues, bookkeeping, device plugin), which build
their own binaries. --readme rewrites the table in README.md (between its "benchmark table"
markers) from this run: that is the only way the README's table is made.
"""
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARGS = sys.argv[1:]
AS_JSON = "--json" in ARGS
RUNS = int(ARGS[ARGS.index("--runs") + 1]) if "--runs" in ARGS else 11
STAGES = "--no-stages" not in ARGS
README = "--readme" in ARGS
ENV = dict(os.environ, PATH="/opt/swift/usr/bin:" + os.environ.get("PATH", ""))


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def sh(cmd, env=None, check=True, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env or ENV, **kw)
    if check and p.returncode != 0:
        raise SystemExit(f"benchmark setup failed: {' '.join(cmd)}\n{p.stdout}\n{p.stderr}")
    return p


def timed(cmd, env=None, runs=RUNS, expect=0):
    """Median wall time in ms of `cmd` over `runs` runs (after one warm-up)."""
    sh(cmd, env=env, check=False)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env or ENV)
        times.append((time.perf_counter() - t) * 1000)
        if expect is not None and p.returncode != expect:
            raise SystemExit(f"benchmark command failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr.decode()}")
    return statistics.median(times)


def peak_rss_kib(cmd, env=None):
    """Peak resident size of one run of `cmd`, in KiB (getrusage of a fresh child)."""
    code = ("import resource,subprocess,sys;"
            "subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL);"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    return int(sh([sys.executable, "-c", code, *cmd], env=env).stdout.strip())


results = []


def machine():
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cpus": os.cpu_count(), "kernel": platform.release(),
            "loadBefore": [round(x, 2) for x in os.getloadavg()]}


MACHINE = machine()


def record(name, value, unit, ref_name, ref_value, goal, met):
    ratio = (value / ref_value) if ref_value else None
    results.append({"figure": name, "value": round(value, 3), "unit": unit, "reference": ref_name,
                    "referenceValue": round(ref_value, 3) if ref_value is not None else None,
                    "ratio": round(ratio, 3) if ratio is not None else None, "goal": goal, "met": met})


# ---------------------------------------------------------------- build
log("building vgpuctl in release mode ...")
BUILD = ["swift", "build", "-c", "release", "--static-swift-stdlib"]
sh(BUILD + ["--product", "vgpuctl"], cwd=REPO)
BIN = sh(BUILD + ["--show-bin-path"], cwd=REPO).stdout.strip()
V = os.path.join(BIN, "vgpuctl")
LSPCI = shutil.which("lspci") or "/usr/bin/lspci"
work = tempfile.mkdtemp(prefix="vgpuctl-bench-")

# A copy of the models with a generated 64-GPU host (each H100 behind its own root port).
models = os.path.join(work, "models")
shutil.copytree(os.path.join(REPO, "firmware-stubs", "models"), models,
                ignore=shutil.ignore_patterns("*.swift"))
lines = ["name: h100x64", "description: 64 H100 SXM5 (benchmark host)", "drivers: [nvidia, vfio-pci, pcieport]", "devices:"]
for i in range(64):
    dom, bus = i // 16, 0x10 + (i % 16) * 8
    rp = f"{dom:04x}:{bus:02x}:01.0"
    gpu = f"{dom:04x}:{bus + 1:02x}:00.0"
    lines.append(f'  - {{address: "{rp}", spec: {{name: root port, vendorID: 0x8086, deviceID: 0x352a, classCode: 0x060400, portType: rootPort}}, driver: pcieport, iommuGroup: {2 * i}, numaNode: {i % 2}}}')
    lines.append(f'  - {{address: "{gpu}", parent: "{rp}", model: h100-sxm5-80gb, driver: nvidia, iommuGroup: {2 * i + 1}, numaNode: {i % 2}, serial: {0x1000 + i}, barBase: 0x{0x200000000000 + i * 0x4000000000:x}, vfBarBase: 0x{0x400000000000 + i * 0x4000000000:x}}}')
with open(os.path.join(models, "hosts", "h100x64.yaml"), "w") as f:
    f.write("\n".join(lines) + "\n")
SIMENV = dict(ENV, VGPUCTL_MODELS=models)


def make_host(model, vfs, interface="none", types=None):
    """A simulated host and a config giving every GPU `vfs` VFs: handed to VFIO, or with
    `types` ({name: count}) through `interface`."""
    root = os.path.join(work, f"{model}-{vfs}-{interface}-{len(os.listdir(work))}")
    sh([V, "sim", "create", root, "--model", model, "--vgpu-interface", interface], env=SIMENV)
    cfg = os.path.join(work, f"vfs{vfs}-{interface}.yaml")
    body = (f"      types: {{{', '.join(f'{t}: {n}' for t, n in types.items())}}}\n" if types
            else "      vfioHandoff: true\n")
    with open(cfg, "w") as f:
        f.write(f"version: 1\nconfigs:\n  default:\n    - select: all\n      mode: vgpu\n      vfs: {vfs}\n" + body)
    return root, cfg


def h200_root():
    """The real H200 capture as a --root: a copy with its links restored (what the tests'
    HostTrees.h200Copy does: the capture stores links as files holding `../...`)."""
    src = os.path.join(os.environ.get("VGPUCTL_SHARED", os.path.join(os.path.dirname(REPO), "shared")), "data", "h200-vm")
    if not os.path.isdir(os.path.join(src, "sys")):
        return None
    dst = os.path.join(work, "h200")
    shutil.copytree(src, dst, symlinks=True)
    for dirpath, _, files in os.walk(os.path.join(dst, "sys")):
        for n in files:
            p = os.path.join(dirpath, n)
            if os.path.islink(p) or os.path.getsize(p) >= 512:
                continue
            with open(p, "rb") as f:
                t = f.read()
            if t.startswith(b"../") and b"\n" not in t:
                os.remove(p)
                os.symlink(t.decode(), p)
    proc = os.path.join(dst, "proc/driver/nvidia/gpus/0000:00:06.0")
    os.makedirs(proc)
    shutil.copy(os.path.join(dst, "proc-driver-nvidia-gpus-0000:00:06.0-information.txt"), proc + "/information")
    return dst


def lspci(root):
    return [LSPCI, "-D", "-vmm", "-k", "-A", "linux-sysfs", "-O", f"sysfs.path={root}/sys/bus/pci"]


def rusage_run(cmd, env=None):
    """Wall, user and system time in ms of one run of `cmd`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    sh(cmd, env=env)
    wall = (time.perf_counter() - t) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) * 1000, (after.ru_stime - before.ru_stime) * 1000


# ---------------------------------------------------------------- 1. inventory
for model, label in (("h100x8", "8x32"), ("h100x64", "64x32")):
    log(f"inventory on {label} ...")
    root, cfg = make_host(model, 32)
    sh([V, "--root", root, "apply", "-f", cfg], env=SIMENV)
    ours = timed([V, "--root", root, "list", "--all", "--json"], runs=RUNS if model == "h100x8" else max(3, RUNS // 3))
    ref = timed(lspci(root), runs=RUNS if model == "h100x8" else max(3, RUNS // 3))
    record(f"inventory: list --all --json, {label} host", ours, "ms", "lspci -D -vmm -k on the same tree", ref,
           "at most 0.8 of lspci (ratio <= 0.8)", ours <= ref * 0.8)
    if model == "h100x64":
        rss = peak_rss_kib([V, "--root", root, "list", "--all", "--json"])
        rss_ref = peak_rss_kib(lspci(root))
        record("memory: peak RSS of list --all --json, 64x32 host", rss / 1024, "MiB", "lspci -D -vmm -k peak RSS",
               rss_ref / 1024, "at most 1.5 times lspci (ratio <= 1.5)", rss <= rss_ref * 1.5)
log("inventory on the real H200 capture ...")
h200 = h200_root()
if h200:
    ours = timed([V, "--root", h200, "list", "--all", "--json"])
    ref = timed(lspci(h200))
    record("inventory: list --all --json, real H200 host capture (7 functions)", ours, "ms",
           "lspci -D -vmm -k on the same tree", ref, "no slower than lspci (ratio <= 1.0)", ours <= ref)
else:
    record("inventory: list --all --json, real H200 host capture", 0, "ms", "capture missing (set VGPUCTL_SHARED)",
           None, "no slower than lspci (ratio <= 1.0)", False)

# ---------------------------------------------------------------- 1b. in-use scan cost
# list looks for the users of every listed device (DeviceUsage: one pass over proc/*/fd, and
# proc/*/maps). The same 8x32 host with and without `proc` pointing at this machine's /proc
# (every process and fd of the machine scanned; fds outside the root are matched by path only).
log("in-use scan cost on 8x32 ...")
root, cfg = make_host("h100x8", 32)
sh([V, "--root", root, "apply", "-f", cfg], env=SIMENV)
bare = timed([V, "--root", root, "list", "--all", "--json"])
os.symlink("/proc", os.path.join(root, "proc"))
nproc = sum(1 for n in os.listdir("/proc") if n.isdigit())
scanned = timed([V, "--root", root, "list", "--all", "--json"])
record(f"in-use scan: list --all --json, 8x32 host, {nproc} processes in proc", scanned, "ms",
       "the same list with no proc to scan", bare, "at most 25% slower (ratio <= 1.25)", scanned <= bare * 1.25)

# ---------------------------------------------------------------- 2./3. apply
log("apply from scratch and converged on 8x32 ...")
root, cfg = make_host("h100x8", 32)
wlog = os.path.join(work, "writes.log")
t0 = time.perf_counter()
sh([V, "--root", root, "apply", "-f", cfg], env=dict(SIMENV, VGPUCTL_WRITE_LOG=wlog))
scratch_ms = (time.perf_counter() - t0) * 1000
writes = sum(1 for _ in open(wlog))
# The minimum the plan needs per GPU: sriov_drivers_autoprobe, sriov_numvfs, and per VF
# driver_override + drivers_probe (a new VF is unbound: no unbind).
minimum = 8 * (2 + 32 * 2)
record("apply from scratch, 8x32 (writes)", writes, "writes", "minimum writes the plan needs", minimum,
       "equal to the minimum", writes == minimum)
version_ms = timed([V, "--version"])
record("apply from scratch, 8x32 (wall time)", scratch_ms, "ms", "vgpuctl --version", version_ms, "reported (no goal)", True)
os.remove(wlog)
conv = timed([V, "--root", root, "apply", "-f", cfg], env=dict(SIMENV, VGPUCTL_WRITE_LOG=wlog))
conv_writes = sum(1 for _ in open(wlog)) if os.path.exists(wlog) else 0
record("converged apply, 8x32 (wall time)", conv, "ms", "vgpuctl --version", version_ms, "under 25 ms", conv < 25)
record("converged apply, 8x32 (writes)", conv_writes, "writes", "none allowed", 0, "0 writes", conv_writes == 0)

log("typed host: 8 GPUs x 32 VFs, 20 H100XM-4C VFs each (vendor interface) ...")
root, cfg = make_host("h100x8", 32, interface="vendor", types={"H100XM-4C": 20})
if os.path.exists(wlog):
    os.remove(wlog)
wall, user, system = rusage_run([V, "--root", root, "apply", "-f", cfg], env=dict(SIMENV, VGPUCTL_WRITE_LOG=wlog))
writes = sum(1 for _ in open(wlog)) if os.path.exists(wlog) else 0
record(f"apply from scratch, 8x32 typed, vendor ({writes} writes; user {user:.0f} ms, system {system:.0f} ms)", wall,
       "ms", "vgpuctl --version", version_ms, "reported (no goal)", True)
os.remove(wlog)
conv_typed = timed([V, "--root", root, "apply", "-f", cfg], env=dict(SIMENV, VGPUCTL_WRITE_LOG=wlog))
typed_writes = sum(1 for _ in open(wlog)) if os.path.exists(wlog) else 0
record("converged apply, 8x32, 20 typed H100XM-4C VFs per GPU, vendor interface (wall time)", conv_typed, "ms",
       "converged apply, 8x32 untyped", conv, "under 25 ms", conv_typed < 25)
record("converged apply, 8x32 typed (writes)", typed_writes, "writes", "none allowed", 0, "0 writes", typed_writes == 0)

# ---------------------------------------------------------------- 6. start-up
log("start-up ...")
true_ms = timed(["/bin/true"])
record("start-up: vgpuctl --version", version_ms, "ms", "/bin/true", true_ms, "under 8 ms", version_ms < 8)
hook = sh([V, "libvirt-hook", "--help"], check=False)
if hook.returncode == 0:
    domain = "<domain type='kvm'><name>plain</name><devices><disk type='file' device='disk'/></devices></domain>"
    def hook_ms():
        times = []
        for _ in range(RUNS + 1):
            t = time.perf_counter()
            p = subprocess.run([V, "libvirt-hook", "plain", "prepare", "begin", "-"], input=domain.encode(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=dict(SIMENV, VGPUCTL_ROOT=root))
            times.append((time.perf_counter() - t) * 1000)
            if p.returncode != 0:
                raise SystemExit("libvirt-hook failed: " + p.stderr.decode())
        return statistics.median(times[1:])
    hm = hook_ms()
    record("start-up: libvirt hook, domain with nothing managed", hm, "ms", "/bin/true", true_ms, "under 50 ms", hm < 50)
else:
    log("libvirt-hook not available in this build: skipped (reported as not met)")
    record("start-up: libvirt hook, domain with nothing managed", 0, "ms", "/bin/true", true_ms, "under 50 ms (hook missing)", False)

# ---------------------------------------------------------------- 4./5. stage benchmarks
STAGE_ENV = dict(ENV, SCRATCH=os.path.join(REPO, ".build"), BUILD_FLAGS="--static-swift-stdlib", VGPUCTL_BIN=V)
for name, script in (("gsp", "Benchmarks/gsp/run.sh"), ("bookkeeping", "Benchmarks/bookkeeping/run.sh"),
                     ("device plugin", "Benchmarks/deviceplugin/run.sh")) if STAGES else ():
    path = os.path.join(REPO, script)
    if not os.path.exists(path):
        log(f"{script} missing: skipped (reported as not met)")
        record(f"{name} benchmark", 0, "-", "-", None, "present", False)
        continue
    log(f"{name} ...")
    p = sh(["bash", path, "--json"], env=STAGE_ENV, cwd=REPO, check=False)
    try:
        for r in json.loads(p.stdout):
            results.append(r)
    except json.JSONDecodeError:
        record(f"{name} benchmark", 0, "-", "-", None, f"ran (exit {p.returncode}): {p.stderr[-200:]}", False)

shutil.rmtree(work, ignore_errors=True)

# ---------------------------------------------------------------- report
MACHINE["loadAfter"] = [round(x, 2) for x in os.getloadavg()]
LOADED = max(MACHINE["loadBefore"][0], MACHINE["loadAfter"][0]) > 0.5 * (os.cpu_count() or 1)


def table():
    m = MACHINE
    head = (f"machine: {m['cpu']}, {m['cpus']} CPUs, Linux {m['kernel']}; load average {m['loadBefore'][0]} before, "
            f"{m['loadAfter'][0]} after; medians of {RUNS} runs; binary: release, Swift runtime linked statically")
    if LOADED:
        head += ("\nLOADED: the machine was busy with other work during this run; the times are inflated and "
                 "the 'met' column is no verdict on the goals (compare the ratios)")
    rows = [["figure", "value", "reference", "ratio", "goal", "met"]]
    for r in results:
        ref = f"{r['referenceValue']} ({r['reference']})" if r["referenceValue"] is not None else r["reference"]
        rows.append([r["figure"], f"{r['value']} {r['unit']}", ref, "" if r["ratio"] is None else f"{r['ratio']}",
                     r["goal"], ("yes" if r["met"] else "NO") + (" (loaded)" if LOADED else "")])
    widths = [max(len(row[i]) for row in rows) for i in range(6)]
    return head + "\n\n" + "\n".join("  ".join(c.ljust(widths[i]) for i, c in enumerate(row)).rstrip() for row in rows)


if AS_JSON:
    print(json.dumps({"machine": MACHINE, "loaded": LOADED, "runs": RUNS, "results": results}, indent=2))
else:
    print(table())
if README:
    path = os.path.join(REPO, "README.md")
    text = open(path).read()
    begin, end = "<!-- benchmark table: generated by Benchmarks/run.py --readme -->", "<!-- end of benchmark table -->"
    if begin not in text or end not in text:
        raise SystemExit(f"README.md has no '{begin}' ... '{end}' block to rewrite")
    block = (begin + "\n\nRun of " + time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()) + ":\n\n"
             + "\n".join(("    " + line).rstrip() for line in table().split("\n")) + "\n\n" + end)
    text = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    with open(path, "w") as f:
        f.write(text)
    log("README.md table rewritten")
