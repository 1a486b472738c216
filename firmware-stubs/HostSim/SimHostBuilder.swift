import Foundation
import GPUModels
import HostKit
import SimGPU

/// `vgpuctl sim create`: writes a simulated host tree for a host model.
public enum SimHostBuilder {
    /// Creates a simulated host of `model` in `dir`.
    ///
    /// `dir` must not exist, be empty, or (with `replace`) already be a simulated host. A
    /// non-empty directory that is not a simulated host is never touched.
    public static func create(
        at dir: String, model name: String, replace: Bool = false,
        vgpuInterface: SimVGPUInterface = .none,
        modelsDirectory: URL = Models.bundled
    ) throws(SimHostError) -> SimState {
        let root = HostRoot(dir)
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: root.path, isDirectory: &isDir) {
            guard isDir.boolValue else { throw .invalid(.directory, "\(root.path) exists and is not a directory") }
            let entries = (try? fm.contentsOfDirectory(atPath: root.path)) ?? []
            if !entries.isEmpty {
                guard root.isSimulated else {
                    throw .invalid(
                        .directory,
                        "\(root.path) is not empty and is not a simulated host; choose an empty or new directory")
                }
                guard replace else {
                    throw .refused(
                        .alreadySimulated, "\(root.path) is already a simulated host; pass --force to replace it")
                }
            }
        }
        let loaded: LoadedHost
        do { loaded = try Models.loadHost(name, from: modelsDirectory) } catch {
            throw .invalid(.model, error.message, underlying: error)
        }
        // Build into a sibling directory, then swap it in, so a failure leaves nothing half-made.
        let parent = (root.path as NSString).deletingLastPathComponent
        let staging = parent + "/." + (root.path as NSString).lastPathComponent + ".creating.\(getpid())"
        try? fm.removeItem(atPath: staging)
        do {
            try fm.createDirectory(atPath: staging, withIntermediateDirectories: true)
            let state = try build(loaded, into: HostRoot(staging), vgpuInterface: vgpuInterface)
            if fm.fileExists(atPath: root.path) { try fm.removeItem(atPath: root.path) }
            try fm.moveItem(atPath: staging, toPath: root.path)
            return state
        } catch {
            try? fm.removeItem(atPath: staging)
            switch error {
            case let e as SimHostError: throw e
            case let e as any CodedError: throw SimHostError(.create, wrapping: e)
            default: throw .failed(.create, "cannot create simulated host in \(root.path): \(error)", underlying: error)
            }
        }
    }

    /// The vGPU interface a real host of `model` has (the model's `vgpuInterface`), `.none`
    /// when it has none.
    public static func defaultInterface(model name: String, modelsDirectory: URL = Models.bundled) throws(SimHostError)
        -> SimVGPUInterface
    {
        let loaded: LoadedHost
        do { loaded = try Models.loadHost(name, from: modelsDirectory) } catch {
            throw .invalid(.model, error.message, underlying: error)
        }
        guard let text = loaded.host.vgpuInterface else { return .none }
        guard let iface = SimVGPUInterface(rawValue: text) else {
            throw .invalid(
                .model,
                "host model \(name) has vgpuInterface '\(text)'; expected one of \(SimVGPUInterface.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        return iface
    }

    static func build(_ loaded: LoadedHost, into root: HostRoot, vgpuInterface: SimVGPUInterface = .none) throws
        -> SimState
    {
        let fs = SimFS(root: root)
        let host = loaded.host
        let writer = SimDeviceWriter(fs: fs)

        // Parse and check addresses and parents.
        var byAddress: [PCIAddress: HostModel.Device] = [:]
        for d in host.devices {
            guard let a = PCIAddress(d.address) else {
                throw SimHostError.invalid(.model, "model \(host.name): '\(d.address)' is not a PCI address")
            }
            guard byAddress[a] == nil else {
                throw SimHostError.invalid(.model, "model \(host.name): \(a) appears twice")
            }
            byAddress[a] = d
        }
        func parent(_ d: HostModel.Device) throws -> PCIAddress? {
            guard let p = d.parent else { return nil }
            guard let a = PCIAddress(p), byAddress[a] != nil else {
                throw SimHostError.invalid(
                    .model, "model \(host.name): device \(d.address) names parent \(p), which is not in the model")
            }
            return a
        }
        var dirs: [PCIAddress: String] = [:]
        func dir(_ a: PCIAddress, depth: Int = 0) throws -> String {
            if let d = dirs[a] { return d }
            guard depth < 32, let d = byAddress[a] else {
                throw SimHostError.invalid(.model, "model \(host.name): parent loop at \(a)")
            }
            let path: String
            if let p = try parent(d) {
                path = try dir(p, depth: depth + 1) + "/\(a)"
            } else {
                path = "sys/devices/pci\(hex(a.domain, 4)):\(hex(a.bus, 2))/\(a)"
            }
            dirs[a] = path
            return path
        }

        try fs.mkdir(HostRoot.pciDevices)
        try fs.mkdir(HostRoot.iommuGroups)
        try fs.write("\(HostRoot.pciBus)/drivers_probe", "")
        try fs.write("\(HostRoot.pciBus)/drivers_autoprobe", "1\n")
        try fs.write("\(HostRoot.pciBus)/rescan", "")
        try fs.write("\(HostRoot.vfioDev)/vfio", "")
        try fs.mkdir(HostRoot.stateDir)
        try fs.mkdir(HostRoot.runDir)
        try fs.write(HostLock.path, "")  // the host lock file, as a real host has it after first use
        for drv in loaded.drivers {
            for f in ["bind", "unbind", "new_id", "remove_id", "uevent"] {
                try fs.write("\(HostRoot.driver(drv.name))/\(f)", "")
            }
        }

        var pfs: [String: SimState.PF] = [:]
        var maxGroup = 0
        // 32-bit BARs live below 4 GiB: one host-wide window for them (assumed layout).
        var next32: UInt64 = 0xc000_0000
        func alloc32(_ size: UInt64) -> UInt64 {
            let s = max(size, 16)
            next32 = (next32 + s - 1) / s * s
            defer { next32 += s }
            return next32
        }
        for (a, d) in byAddress.sorted(by: { $0.key < $1.key }) {
            let spec = loaded.spec(of: d)
            let path = try dir(a)
            maxGroup = max(maxGroup, d.iommuGroup)
            // BAR addresses: explicit, else allocated upwards from barBase aligned to size.
            var bars: [Int: UInt64] = [:]
            var next = d.barBase?.value ?? 0xe000_0000
            for bar in spec.bars ?? [] {
                if let explicit = d.barAddresses?[bar.index] {
                    bars[bar.index] = explicit.value
                    continue
                }
                if !(bar.is64Bit ?? false) {
                    bars[bar.index] = alloc32(bar.size.value)
                    continue
                }
                let size = max(bar.size.value, 16)
                next = (next + size - 1) / size * size
                bars[bar.index] = next
                next += size
            }
            var vfBars: [Int: UInt64] = [:]
            if let sr = spec.sriov {
                var vnext = d.vfBarBase?.value ?? (next + 0x1000_0000)
                for bar in sr.vfBars ?? [] {
                    let total = bar.size.value * UInt64(sr.totalVFs)
                    if !(bar.is64Bit ?? false) {
                        vfBars[bar.index] = alloc32(total)
                        continue
                    }
                    let align = max(bar.size.value, 16)
                    vnext = (vnext + align - 1) / align * align
                    vfBars[bar.index] = vnext
                    vnext += total
                }
            }
            let children = byAddress.filter { (try? parent($0.value)) == a }.keys
            let secondary = children.map(\.bus).min() ?? 0
            let subordinate = try subordinateBus(a, byAddress: byAddress, parent: parent)
            let multifunction = byAddress.keys.contains {
                $0 != a && $0.domain == a.domain && $0.bus == a.bus && $0.device == a.device
            }
            let config = ConfigSpaceBuilder.build(
                .init(
                    spec: spec, multifunction: multifunction, barAddresses: bars, vfBarAddresses: vfBars,
                    serial: d.serial?.value, secondaryBus: secondary, subordinateBus: subordinate, primaryBus: a.bus))
            let resources = SimHost.resources(spec: spec, bars: bars, vfBars: vfBars)
            try writer.write(
                .init(
                    address: a, dir: path,
                    vendorID: UInt16(truncatingIfNeeded: spec.vendorID.value),
                    deviceID: UInt16(truncatingIfNeeded: spec.deviceID.value),
                    classCode: UInt32(truncatingIfNeeded: spec.classCode.value),
                    subsystemVendorID: UInt16(truncatingIfNeeded: spec.subsystemVendorID?.value ?? 0),
                    subsystemDeviceID: UInt16(truncatingIfNeeded: spec.subsystemDeviceID?.value ?? 0),
                    revision: UInt8(truncatingIfNeeded: spec.revision?.value ?? 0),
                    numaNode: d.numaNode ?? -1, iommuGroup: d.iommuGroup, config: config, resources: resources))
            if let sr = spec.sriov {
                try fs.write("\(path)/sriov_totalvfs", "\(sr.totalVFs)\n")
                try fs.write("\(path)/sriov_numvfs", "0\n")
                try fs.write("\(path)/sriov_drivers_autoprobe", "1\n")
                try fs.write("\(path)/sriov_offset", "\(sr.vfOffset)\n")
                try fs.write("\(path)/sriov_stride", "\(sr.vfStride)\n")
                try fs.write("\(path)/sriov_vf_device", "\(String(sr.vfDeviceID.value, radix: 16))\n")
                try fs.write("\(path)/sriov_vf_total_msix", "0\n")
                pfs[a.description] = .init(
                    spec: spec, serial: d.serial?.value, barAddresses: bars, vfBarAddresses: vfBars,
                    multifunction: multifunction, numaNode: d.numaNode ?? -1)
            }
        }

        var state = SimState(model: host.name, drivers: loaded.drivers, pfs: pfs, firstDynamicGroup: maxGroup + 1)
        state.vgpuInterface = vgpuInterface == .none ? nil : vgpuInterface.rawValue
        let kernel = SimulatedKernel(root: root)
        for (a, d) in byAddress.sorted(by: { $0.key < $1.key }) {
            guard let drv = d.driver else { continue }
            guard state.driver(drv) != nil else {
                throw SimHostError.invalid(
                    .model,
                    "model \(host.name): device \(a) is bound to '\(drv)', which is not in the host's driver list")
            }
            try kernel.attach(a, driver: drv, state: state)
        }

        // NUMA nodes.
        for n in host.numaNodes ?? [] {
            let nd = "sys/devices/system/node/node\(n.id)"
            try fs.write("\(nd)/cpulist", (n.cpus ?? "") + "\n")
            try fs.write("\(nd)/meminfo", "Node \(n.id) MemTotal:       \((n.memoryMiB?.value ?? 0) * 1024) kB\n")
        }

        // EGM regions: sys/class/egm/egm<pxm>/egm_size ("0x%lx\n"), links named by the GPUs'
        // addresses, and the char device (a plain file in simulation).
        var retired: [String: [UInt64]] = [:]
        for r in host.egm ?? [] {
            let cd = "\(HostRoot.egmClass)/egm\(r.pxm)"
            try fs.write("\(cd)/egm_size", "0x\(String(r.size.value, radix: 16))\n")
            for g in r.gpus {
                guard let a = PCIAddress(g), let gdir = dirs[a] else {
                    throw SimHostError.invalid(
                        .model, "model \(host.name): EGM region \(r.pxm) names GPU \(g), which is not in the model")
                }
                try fs.link("\(cd)/\(a)", to: gdir)
            }
            try fs.write("dev/egm\(r.pxm)", "")
            retired[String(r.pxm)] = (r.retiredPages ?? []).map(\.value)
        }
        if !retired.isEmpty { state.egmRetiredPages = retired }
        try SimVGPUHost.writeEvidence(vgpuInterface, fs: fs, state: state)
        try state.save(fs)
        // The simulated kernel's lock file exists from the start, so that a write (even a
        // refused one) leaves the tree as it was.
        try fs.write(SimKernelLock.name, "")
        return state
    }

    static func subordinateBus(
        _ a: PCIAddress, byAddress: [PCIAddress: HostModel.Device],
        parent: (HostModel.Device) throws -> PCIAddress?
    ) throws -> UInt8 {
        var maxBus: UInt8 = 0
        for (c, d) in byAddress where try parent(d) == a {
            maxBus = max(maxBus, c.bus, try subordinateBus(c, byAddress: byAddress, parent: parent))
        }
        return maxBus
    }
}

/// Shared pieces of the simulated host.
enum SimHost {
    /// The 13 `resource` lines of an endpoint: BARs 0-5, the ROM, the 6 SR-IOV VF BAR regions
    /// (each the size of all TotalVFs VFs, as the kernel reports it).
    static func resources(spec: DeviceSpec, bars: [Int: UInt64], vfBars: [Int: UInt64]) -> [SysfsParse.Resource] {
        var rs = Array(repeating: SysfsParse.Resource(start: 0, end: 0, flags: 0), count: 13)
        for bar in spec.bars ?? [] {
            guard let start = bars[bar.index], bar.index < 6 else { continue }
            rs[bar.index] = .init(
                start: start, end: start + bar.size.value - 1, flags: SimDeviceWriter.resourceFlags(bar))
        }
        if let sr = spec.sriov {
            for bar in sr.vfBars ?? [] {
                guard let start = vfBars[bar.index], bar.index < 6 else { continue }
                let total: UInt64 = bar.size.value * UInt64(sr.totalVFs)
                let flags = SimDeviceWriter.resourceFlags(bar)
                rs[7 + bar.index] = SysfsParse.Resource(start: start, end: start + total - 1, flags: flags)
            }
        }
        return rs
    }
}
