"""A fake kubelet, in Python (grpcio), against `vgpuctl device-plugin` on a simulated host.

The kubelet side is compiled at test time from the kubelet's own api.proto (Debian's
golang-github-kubernetes-kubelet-dev, path in KUBELET_API_PROTO; its Go-only gogoproto options
are stripped before compiling). Checks: Register (version, endpoint, resource name), the first
ListAndWatch (ids, health, NUMA), Allocate (env names by KubeVirt's rule, device specs), an
update within one second after a VF loses its vGPU type, re-registration after the kubelet's
socket directory is cleaned and the kubelet restarted, refusal of unknown ids, and SIGTERM.
"""
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent import futures

import grpc
import pytest
from grpc_tools import protoc

VGPUCTL = os.environ.get("VGPUCTL_BIN", "")
PROTO = os.environ.get("KUBELET_API_PROTO", "")
PF = "0000:18:00.0"
PASSTHROUGH = "0000:3a:00.0"


def kubevirt_env(resource, mdev=False):
    """KubeVirt's rule: upper-case, '/' and '.' to '_', prefixed."""
    body = resource.upper().replace("/", "_").replace(".", "_")
    return ("MDEV_PCI_RESOURCE_" if mdev else "PCI_RESOURCE_") + body


@pytest.fixture(scope="module")
def api():
    return compile_api()


def compile_api():
    """The kubelet's api.proto compiled with grpc_tools: (api_pb2, api_pb2_grpc)."""
    assert VGPUCTL and os.access(VGPUCTL, os.X_OK), f"VGPUCTL_BIN={VGPUCTL!r} is not an executable vgpuctl"
    assert PROTO and os.path.isfile(PROTO), f"KUBELET_API_PROTO={PROTO!r}: the kubelet's api.proto was not fetched"
    out = tempfile.mkdtemp(prefix="kubelet-api-")
    text = open(PROTO).read()
    assert "package v1beta1;" in text and "service Registration" in text, "not the kubelet's v1beta1 api.proto"
    text = re.sub(r'^import "github.com/gogo/protobuf/gogoproto/gogo.proto";\n', "", text, flags=re.M)
    text = re.sub(r"^option \(gogoproto\.[^\n]*\n", "", text, flags=re.M)
    text = re.sub(r"\s*\[\(gogoproto\.[^\]]*\]", "", text)
    with open(os.path.join(out, "api.proto"), "w") as f:
        f.write(text)
    rc = protoc.main(["protoc", f"-I{out}", f"--python_out={out}", f"--grpc_python_out={out}", os.path.join(out, "api.proto")])
    assert rc == 0, "grpc_tools.protoc could not compile the kubelet's api.proto"
    sys.path.insert(0, out)
    import api_pb2
    import api_pb2_grpc
    return api_pb2, api_pb2_grpc


def vg(root, *args):
    r = subprocess.run([VGPUCTL, "--root", root, *args], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"vgpuctl {' '.join(args)}: {r.returncode} {r.stderr}"
    return r.stdout


class FakeKubelet:
    """Serves v1beta1.Registration on <dir>/kubelet.sock and records each RegisterRequest."""

    def __init__(self, api, directory, refuse=None):
        pb2, pb2_grpc = api
        self.requests = queue.Queue()
        outer = self

        class Registration(pb2_grpc.RegistrationServicer):
            def Register(self, request, context):
                outer.requests.put(request)
                if refuse:
                    # As the kubelet's devicemanager does for a request it will not take: a
                    # plain error, which gRPC carries as UNKNOWN with the message.
                    context.abort(grpc.StatusCode.UNKNOWN, refuse)
                return pb2.Empty()

        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        pb2_grpc.add_RegistrationServicer_to_server(Registration(), self.server)
        self.server.add_insecure_port("unix:" + os.path.join(directory, "kubelet.sock"))
        self.server.start()

    def registered(self, count, timeout=30):
        got = {}
        deadline = time.monotonic() + timeout
        while len(got) < count:
            left = deadline - time.monotonic()
            assert left > 0, f"only {len(got)} of {count} resources registered: {sorted(got)}"
            try:
                r = self.requests.get(timeout=left)
            except queue.Empty:
                continue
            got[r.resource_name] = r
        return got

    def stop(self):
        self.server.stop(0).wait()


class Watch:
    """A ListAndWatch stream read on a thread into a queue."""

    def __init__(self, api, socket):
        pb2, pb2_grpc = api
        self.channel = grpc.insecure_channel("unix:" + socket)
        self.stub = pb2_grpc.DevicePluginStub(self.channel)
        self.updates = queue.Queue()
        self.stream = self.stub.ListAndWatch(pb2.Empty())
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        try:
            for r in self.stream:
                self.updates.put((time.monotonic(), r))
        except grpc.RpcError:
            pass

    def next(self, timeout=10):
        return self.updates.get(timeout=timeout)

    def close(self):
        self.stream.cancel()
        self.channel.close()


def typed(root, vf):
    with open(f"{root}/sys/bus/pci/devices/{vf}/nvidia/current_vgpu_type") as f:
        return f.read().strip() not in ("", "0")


@pytest.fixture(scope="module")
def host():
    root = tempfile.mkdtemp(prefix="dp-host-") + "/host"
    vg(root, "sim", "create", root, "--model", "h100x8", "--vgpu-interface", "vendor")
    vg(root, "vf", "create", PF, "--type", "H100XM-20C", "--count", "2")
    vg(root, "passthrough", "assign", PASSTHROUGH)
    pfs = json.loads(vg(root, "vf", "list", PF, "--json"))["pfs"]
    # The VFs that carry the type, as the driver shows it (vendor sysfs: a type id, 0 = none).
    vfs = [v["address"] for v in pfs[0]["vfs"] if typed(root, v["address"])]
    assert len(vfs) == 2, vfs
    return root, vfs


@pytest.fixture(scope="module")
def plugin(api, host):
    root, vfs = host
    pdir = tempfile.mkdtemp(prefix="device-plugins-")
    kubelet = FakeKubelet(api, pdir)
    proc = subprocess.Popen([VGPUCTL, "--root", root, "device-plugin", "--plugin-dir", pdir, "--verbose"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    state = {"root": root, "vfs": vfs, "dir": pdir, "kubelet": kubelet, "proc": proc}
    yield state
    if proc.poll() is None:
        proc.kill()
    state["kubelet"].stop()
    shutil.rmtree(pdir, ignore_errors=True)


def passthrough_resource(regs):
    others = [r for r in regs if r != "nvidia.com/NVIDIA_H100XM-20C"]
    assert len(others) == 1, sorted(regs)
    return others[0]


def test_register_and_first_list(api, plugin):
    regs = plugin["kubelet"].registered(2)
    assert "nvidia.com/NVIDIA_H100XM-20C" in regs, sorted(regs)
    pt = passthrough_resource(regs)
    assert re.fullmatch(r"nvidia\.com/GH100_?H100_SXM5_80GB", pt), pt
    for name, r in regs.items():
        assert r.version == "v1beta1"
        assert "/" not in r.endpoint and r.endpoint.endswith(".sock")
        assert os.path.exists(os.path.join(plugin["dir"], r.endpoint)), r.endpoint
        assert r.options.get_preferred_allocation_available
    plugin["regs"] = regs
    w = Watch(api, os.path.join(plugin["dir"], regs["nvidia.com/NVIDIA_H100XM-20C"].endpoint))
    _, first = w.next()
    assert sorted(d.ID for d in first.devices) == sorted(plugin["vfs"])
    assert all(d.health == "Healthy" for d in first.devices)
    assert all([n.ID for n in d.topology.nodes] == [0] for d in first.devices)
    plugin["watch"] = w


def test_allocate_typed_vf_and_passthrough(api, plugin):
    pb2, pb2_grpc = api
    regs = plugin["regs"]
    root = plugin["root"]
    vf = plugin["vfs"][0]
    stub = pb2_grpc.DevicePluginStub(grpc.insecure_channel("unix:" + os.path.join(plugin["dir"], regs["nvidia.com/NVIDIA_H100XM-20C"].endpoint)))
    r = stub.Allocate(pb2.AllocateRequest(container_requests=[pb2.ContainerAllocateRequest(devices_ids=[vf])]))
    c = r.container_responses[0]
    assert dict(c.envs) == {kubevirt_env("nvidia.com/NVIDIA_H100XM-20C"): vf}
    group = os.path.basename(os.readlink(f"{root}/sys/bus/pci/devices/{vf}/iommu_group"))
    paths = {(d.container_path, d.host_path, d.permissions) for d in c.devices}
    assert ("/dev/vfio/vfio", "/dev/vfio/vfio", "rwm") in paths
    assert (f"/dev/vfio/{group}", f"/dev/vfio/{group}", "rwm") in paths

    pt = passthrough_resource(regs)
    stub2 = pb2_grpc.DevicePluginStub(grpc.insecure_channel("unix:" + os.path.join(plugin["dir"], regs[pt].endpoint)))
    r2 = stub2.Allocate(pb2.AllocateRequest(container_requests=[pb2.ContainerAllocateRequest(devices_ids=[PASSTHROUGH])]))
    c2 = r2.container_responses[0]
    assert dict(c2.envs) == {kubevirt_env(pt): PASSTHROUGH}
    g2 = os.path.basename(os.readlink(f"{root}/sys/bus/pci/devices/{PASSTHROUGH}/iommu_group"))
    assert {d.container_path for d in c2.devices} >= {"/dev/vfio/vfio", f"/dev/vfio/{g2}"}

    pref = stub.GetPreferredAllocation(pb2.PreferredAllocationRequest(container_requests=[
        pb2.ContainerPreferredAllocationRequest(available_deviceIDs=plugin["vfs"], must_include_deviceIDs=[], allocation_size=1)]))
    assert len(pref.container_responses[0].deviceIDs) == 1 and pref.container_responses[0].deviceIDs[0] in plugin["vfs"]


def test_unknown_id_is_refused(api, plugin):
    pb2, pb2_grpc = api
    ep = plugin["regs"]["nvidia.com/NVIDIA_H100XM-20C"].endpoint
    stub = pb2_grpc.DevicePluginStub(grpc.insecure_channel("unix:" + os.path.join(plugin["dir"], ep)))
    with pytest.raises(grpc.RpcError) as e:
        stub.Allocate(pb2.AllocateRequest(container_requests=[pb2.ContainerAllocateRequest(devices_ids=["0000:ff:00.7"])]))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "0000:ff:00.7" in e.value.details()


def test_update_within_one_second_after_a_vf_loses_its_type(plugin):
    w = plugin["watch"]
    while not w.updates.empty():
        w.updates.get_nowait()
    vf = plugin["vfs"][1]
    vg(plugin["root"], "vf", "clear", vf)
    cleared = time.monotonic()
    while True:
        at, update = w.next(timeout=5)
        health = {d.ID: d.health for d in update.devices}
        if health.get(vf) == "Unhealthy":
            break
    assert at - cleared < 1.0, f"the kubelet saw the change {at - cleared:.3f} s after vf clear returned"
    assert health[plugin["vfs"][0]] == "Healthy"


def test_reregisters_after_kubelet_restart(api, plugin):
    plugin["watch"].close()
    plugin["kubelet"].stop()
    # The kubelet's CleanupPluginDirectory: every socket in the directory goes.
    for name in os.listdir(plugin["dir"]):
        os.unlink(os.path.join(plugin["dir"], name))
    plugin["kubelet"] = FakeKubelet(api, plugin["dir"])
    regs = plugin["kubelet"].registered(2, timeout=30)
    assert set(regs) == set(plugin["regs"])
    for r in regs.values():
        assert os.path.exists(os.path.join(plugin["dir"], r.endpoint)), r.endpoint
    w = Watch(api, os.path.join(plugin["dir"], regs["nvidia.com/NVIDIA_H100XM-20C"].endpoint))
    _, first = w.next()
    assert {d.ID for d in first.devices} == set(plugin["vfs"])
    w.close()


def test_a_refused_registration_is_reported_and_not_repeated(api, host):
    root, _ = host
    pdir = tempfile.mkdtemp(prefix="device-plugins-refused-")
    kubelet = FakeKubelet(api, pdir, refuse="invalid resource name: test refusal")
    proc = subprocess.Popen([VGPUCTL, "--root", root, "device-plugin", "--plugin-dir", pdir],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = kubelet.registered(2, timeout=30)
        # A kubelet that answered "no" is not asked again until it restarts: no more requests
        # within several retry periods (the retry backoff starts at 0.2 s).
        time.sleep(3)
        again = []
        while not kubelet.requests.empty():
            again.append(kubelet.requests.get().resource_name)
        assert again == [], f"registered again after a refusal: {again}"
        assert proc.poll() is None, proc.stderr.read()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
        kubelet.stop()
    err = proc.stderr.read()
    for resource in first:
        assert f"{resource}: the kubelet at {pdir}/kubelet.sock refused the registration" in err, err
    assert "test refusal" in err, err
    shutil.rmtree(pdir, ignore_errors=True)


def test_sigterm_exits_cleanly_and_removes_sockets(plugin):
    proc = plugin["proc"]
    proc.send_signal(signal.SIGTERM)
    rc = proc.wait(timeout=15)
    err = proc.stderr.read()
    assert rc == 0, err
    left = [n for n in os.listdir(plugin["dir"]) if n.startswith("kubevirt-")]
    assert left == [], left
