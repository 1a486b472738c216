"""Benchmark of `vgpuctl device-plugin` against a fake kubelet (see run.sh)."""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "DevicePlugin"))
import test_fake_kubelet as fk  # noqa: E402  (the test's kubelet, proto compiler and helpers)

V = os.environ["VGPUCTL_BIN"]
IDLE_SECONDS = int(os.environ.get("IDLE_SECONDS", "60"))
CHANGES = int(os.environ.get("CHANGES", "9"))


def ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    api = fk.compile_api()
    root = tempfile.mkdtemp(prefix="dp-bench-") + "/host"
    fk.vg(root, "sim", "create", root, "--model", "h100x8", "--vgpu-interface", "vendor")
    fk.vg(root, "vf", "create", fk.PF, "--type", "H100XM-20C", "--count", "2")
    vfs = [v["address"] for v in json.loads(fk.vg(root, "vf", "list", fk.PF, "--json"))["pfs"][0]["vfs"]]
    vf = [v for v in vfs if fk.typed(root, v)][1]
    pdir = tempfile.mkdtemp(prefix="device-plugins-")
    kubelet = fk.FakeKubelet(api, pdir)
    proc = subprocess.Popen([V, "--root", root, "device-plugin", "--plugin-dir", pdir],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        regs = kubelet.registered(1)
        watch = fk.Watch(api, os.path.join(pdir, regs["nvidia.com/NVIDIA_H100XM-20C"].endpoint))
        watch.next()
        time.sleep(2)
        rss = rss_kib(proc.pid)
        hz = os.sysconf("SC_CLK_TCK")
        t0 = ticks(proc.pid)
        time.sleep(IDLE_SECONDS)
        cpu_ms = (ticks(proc.pid) - t0) * 1000 / hz
        lat = []
        took = []
        for i in range(CHANGES):
            args = ["vf", "clear", vf] if i % 2 == 0 else ["vf", "assign", vf, "--type", "H100XM-20C"]
            want = "Unhealthy" if i % 2 == 0 else "Healthy"
            while not watch.updates.empty():
                watch.updates.get_nowait()
            start = time.monotonic()
            fk.vg(root, *args)
            took.append((time.monotonic() - start) * 1000)
            while True:
                at, update = watch.next(timeout=10)
                if {d.ID: d.health for d in update.devices}.get(vf) == want:
                    break
            # From the command's start: the plugin often tells the kubelet before the command
            # has exited (measured from its return, the figure went negative).
            lat.append((at - start) * 1000)
        watch.close()
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        kubelet.stop()
    median = statistics.median(lat)
    command = statistics.median(took)
    records = [
        {"figure": "device plugin: resident memory, idle", "value": round(rss / 1024, 3), "unit": "MiB",
         "reference": "none", "referenceValue": None, "ratio": None, "goal": "reported (no goal)", "met": True},
        {"figure": f"device plugin: CPU time over {IDLE_SECONDS} idle s", "value": round(cpu_ms, 3), "unit": "ms",
         "reference": "none (no polling)", "referenceValue": None, "ratio": None, "goal": "under 100 ms", "met": cpu_ms < 100},
        {"figure": f"device plugin: change to kubelet (median of {CHANGES}, from the command's start)", "value": round(median, 3),
         "unit": "ms", "reference": "the command's own run (vf clear / vf assign)", "referenceValue": round(command, 3),
         "ratio": round(median / command, 3), "goal": "under 1 s", "met": median < 1000},
    ]
    if "--json" in sys.argv:
        print(json.dumps(records, indent=2))
    else:
        for r in records:
            print(f"{r['figure']}: {r['value']} {r['unit']} (goal: {r['goal']}, met: {r['met']})")


if __name__ == "__main__":
    main()
