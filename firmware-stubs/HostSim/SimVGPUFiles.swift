import Foundation
import Glibc
import HostKit
import SimGPU
import SystemPackage
import VGPUTypes

/// The files NVIDIA's vGPU driver shows, written in the formats real hosts print
/// (`shared/data/harvester-gpuhelper`, `real-captures.md`).
enum VendorFiles {
    /// `creatable_vgpu_types`: the header `ID    : vGPU Name`, then `%-5d : %s` per type.
    static func creatable(_ types: [(id: Int, name: String)]) -> String {
        "ID    : vGPU Name\n"
            + types.map { t in
                let id = String(t.id)
                return id + String(repeating: " ", count: max(0, 5 - id.count)) + " : NVIDIA " + t.name + "\n"
            }.joined()
    }

    /// An mdev type's `description`, per series as the A2 capture shows them (B: 4 heads,
    /// frl 45, 5120x2880; Q: 4 heads, frl 60, 7680x4320, 1 GB Q 5120x2880; A: 1 head, frl 60,
    /// 1280x1024; C and the rest: 1 head, frl 60, 4096x2400).
    static func mdevDescription(_ t: VGPUCatalog.VGPUType) -> String {
        let (heads, frl, res): (Int, Int, String)
        switch t.series {
        case "B": (heads, frl, res) = (4, 45, "5120x2880")
        case "Q": (heads, frl, res) = (4, 60, t.nominalMiB <= 1024 ? "5120x2880" : "7680x4320")
        case "A": (heads, frl, res) = (1, 60, "1280x1024")
        default: (heads, frl, res) = (1, 60, "4096x2400")
        }
        return
            "num_heads=\(heads), frl_config=\(frl), framebuffer=\(t.nominalMiB)M, max_resolution=\(res), max_instance=\(t.maxInstances)\n"
    }

    static func number(_ text: String?) -> Int? {
        guard let t = text?.trimmingCharacters(in: .whitespacesAndNewlines), !t.isEmpty else { return nil }
        return Int(t)
    }
}

extension SimulatedKernel {
    /// Rewrites the vGPU files of every VF of `pf` bound to `nvidia` (or only `only`), from the
    /// driver's state: the creatable lists shrink and `available_instances` drop as VFs take types.
    func renderVGPU(pf: PCIAddress, state: SimState, only: PCIAddress? = nil, except: PCIAddress? = nil) throws {
        let iface = vgpuInterface(state)
        guard iface == .vendor || iface == .mdev, let vfs = sysfs.device(pf)?.sriov?.vfs else { return }
        // Only what changed is written, without SimFS's atomic replace (thousands of files).
        func put(_ path: String, _ text: String) throws { if fs.read(path) != text { try writePlain(path, text) } }
        let st = try vgpuDriver.load()
        guard let ctx = vgpuDriver.context(pf, sim: state, state: st) else { return }
        let types = ctx.types
        for (i, vf) in vfs.enumerated() where (only == nil || only == vf) && vf != except {
            guard let d = sysfs.device(vf), d.driver == "nvidia", let dir = d.canonicalPath else { continue }
            let dev = st.pfs[pf.description]?.devices.first { $0.vf == i }
            let creatable = dev == nil ? Set(vgpuDriver.creatableIDs(vf: i, ctx)) : []
            if iface == .vendor {
                let listed = types.filter { creatable.contains($0.id) }.sorted { $0.id < $1.id }.map {
                    (id: $0.id, name: $0.name)
                }
                try put("\(dir)/nvidia/creatable_vgpu_types", VendorFiles.creatable(listed))
                try put("\(dir)/nvidia/current_vgpu_type", "\(dev?.typeID ?? 0)\n")
                try put("\(dir)/nvidia/placement_id", dev.map { "\($0.placement)\n" } ?? "")
                let gi = dev.flatMap { d in types.first { $0.id == d.typeID }?.mig.map { _ in d.placement } }
                try put("\(dir)/nvidia/gpu_instance_id", gi.map { "\($0)\n" } ?? "")
                for f in ["vgpu_params", "warm_update"] where !fs.exists("\(dir)/nvidia/\(f)") {
                    try put("\(dir)/nvidia/\(f)", "")
                }
            } else {
                if !fs.isLink("\(HostRoot.mdevBus)/\(vf)") { try fs.link("\(HostRoot.mdevBus)/\(vf)", to: dir) }
                for t in types {
                    let td = "\(dir)/mdev_supported_types/nvidia-\(t.id)"
                    try put("\(td)/name", "NVIDIA \(t.name)\n")
                    try put("\(td)/description", VendorFiles.mdevDescription(t))
                    try put("\(td)/available_instances", creatable.contains(t.id) ? "1\n" : "0\n")
                    try put("\(td)/device_api", "vfio-pci\n")
                    if !fs.exists("\(td)/create") { try put("\(td)/create", "") }
                    try fs.mkdir("\(td)/devices")
                }
            }
        }
    }

    /// Writes a small file in place (open, write, close): the simulated driver's files change
    /// often and need no atomic replace.
    func writePlain(_ rel: String, _ text: String) throws {
        let path = root.url(rel)
        let dir = (path as NSString).deletingLastPathComponent
        if !FileManager.default.fileExists(atPath: dir) {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Errno(rawValue: errno) }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard n == bytes.count else { throw Errno.ioError }
    }

    /// Creates the sysfs of an mdev device: `<parent>/<uuid>/` with `remove` and `mdev_type`, the
    /// bus link `sys/bus/mdev/devices/<uuid>`, the type's `devices/<uuid>` link, and an IOMMU
    /// group of its own (`g`, chosen when the write was decided) with its `/dev/vfio/<group>`
    /// (as vfio-mdev gives each device).
    func createMdevDevice(_ uuid: String, parent: PCIAddress, typeDir: String, group g: Int) throws {
        guard let dir = sysfs.device(parent)?.canonicalPath else { throw Errno.noSuchDevice }
        let dev = "\(dir)/\(uuid)"
        let td = "\(dir)/mdev_supported_types/\(typeDir)"
        try fs.write("\(dev)/remove", "")
        try fs.write("\(dev)/uevent", "MDEV_TYPE=\(typeDir)\n")
        try fs.link("\(dev)/mdev_type", to: td)
        try fs.link("\(td)/devices/\(uuid)", to: dev)
        try fs.link("sys/bus/mdev/devices/\(uuid)", to: dev)
        try fs.write("\(HostRoot.iommuGroups)/\(g)/type", "DMA\n")
        try fs.link("\(HostRoot.iommuGroups)/\(g)/devices/\(uuid)", to: dev)
        try fs.link("\(dev)/iommu_group", to: "\(HostRoot.iommuGroups)/\(g)")
        try fs.write("\(HostRoot.vfioDev)/\(g)", "")
    }

    /// Removes what ``createMdevDevice`` made (nothing for a device without an mdev).
    func removeMdevDevice(_ d: SimVGPUDriver.Device) throws {
        guard let uuid = d.mdevUUID else { return }
        let sysfs = self.sysfs
        if let target = sysfs.link("sys/bus/mdev/devices/\(uuid)") {
            let dev = sysfs.resolveRelative(target, from: "sys/bus/mdev/devices")
            if let t = sysfs.link("\(dev)/mdev_type") {
                try fs.remove(sysfs.resolveRelative(t, from: dev) + "/devices/\(uuid)")
            }
            try fs.remove(dev)
        }
        try fs.remove("sys/bus/mdev/devices/\(uuid)")
        if let g = d.mdevGroup {
            try fs.remove("\(HostRoot.iommuGroups)/\(g)")
            try fs.remove("\(HostRoot.vfioDev)/\(g)")
        }
    }
}
