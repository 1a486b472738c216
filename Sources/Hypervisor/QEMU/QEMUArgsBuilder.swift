import Foundation
import HostKit

/// What `vgpuctl qemu args` is asked for.
public struct QEMUArgsRequest: Sendable {
    public var devices: [AssignedDevice]
    /// `bus=` for every device (a qdev id such as `pcie.0` or a root port's id).
    public var bus: String?
    /// The guest slot of the first device (`addr=SS.0`); each further device takes the next.
    public var firstSlot: UInt8?
    /// `rombar=` for every device; Grace GPUs get `rombar=0` when unset (as in the reference).
    public var rombar: Int?
    /// The first guest NUMA node vgpuctl may use: the guest's own nodes are below it.
    public var firstNode: Int
    /// Use the iommufd backend (`-object iommufd` and `iommufd=` on each device).
    public var iommufd: Bool
    /// Write `-device` values in JSON.
    public var deviceJSON: Bool
    /// Back a guest NUMA node with each Grace GPU's EGM region.
    public var egm: Bool

    public init(
        devices: [AssignedDevice], bus: String? = nil, firstSlot: UInt8? = nil, rombar: Int? = nil, firstNode: Int = 1,
        iommufd: Bool = false, deviceJSON: Bool = false, egm: Bool = true
    ) {
        self.devices = devices
        self.bus = bus
        self.firstSlot = firstSlot
        self.rombar = rombar
        self.firstNode = firstNode
        self.iommufd = iommufd
        self.deviceJSON = deviceJSON
        self.egm = egm
    }
}

/// The arguments, plus what the operator must know about them.
public struct QEMUCommandLine: Sendable {
    public var options: [QEMUOption]
    public var deviceJSON: Bool
    /// Things that may hurt the guest (retired EGM pages it is not told about).
    public var warnings: [String]
    /// Things the rest of the command line must agree with.
    public var notes: [String]

    /// The arguments, one per element.
    public var arguments: [String] { options.flatMap { $0.arguments(deviceJSON: deviceJSON) } }
}

/// Builds QEMU arguments for devices handed to a guest (qemu-libvirt.md).
///
/// - Every device: `-device vfio-pci,host=BDF[,bus=][,addr=][,multifunction=on][,rombar=][,iommufd=],id=hostdev-...`
///   (`sysfsdev=` for an mdev); companion functions share the device's slot when it is placed.
/// - Grace GPUs: `vfio-pci-nohotplug`, eight empty guest NUMA nodes per GPU and one
///   `acpi-generic-initiator` per (GPU, node), node ids and `gi` ids continuing across GPUs:
///   `-numa node,nodeid=2 ... -numa node,nodeid=9`, the device, `gi0..gi7`, then the next GPU.
/// - EGM: after the GPUs' nodes, one node per EGM region backed by
///   `memory-backend-file,mem-path=/dev/egm<pxm>,size=<egm_size>,share=on,prealloc=on`.
public enum QEMUArgsBuilder {
    /// Guest NUMA nodes per Grace GPU: one per possible MIG partition.
    public static let nodesPerGraceGPU = 8
    /// The iommufd object's id.
    public static let iommufdID = "iommufd0"

    public static func build(
        _ r: QEMUArgsRequest, capabilities caps: QEMUCapabilities,
        retiredPages: (Int) throws(HostKitError) -> [EGMRetiredPage]
    ) throws(HypervisorError) -> QEMUCommandLine {
        try validate(r)
        try requireFeatures(r, caps)
        var opts: [QEMUOption] = []
        var warnings: [String] = []
        var notes: [String] = []
        if r.iommufd { opts.append(QEMUOption("-object", "iommufd", [.init("id", .string(iommufdID))])) }

        var node = r.firstNode
        var gi = 0
        var slot = r.firstSlot.map(Int.init)
        for d in r.devices {
            let devices = deviceOptions(d, r, slot: slot)
            slot = slot.map { $0 + 1 }
            guard d.grace, let id = devices.first?["id"] else {
                opts += devices
                continue
            }
            let nodes = node..<(node + nodesPerGraceGPU)
            opts += nodes.map { QEMUOption("-numa", "node", [.init("nodeid", .int(Int64($0)))]) }
            opts += devices
            for n in nodes {
                opts.append(
                    QEMUOption(
                        "-object", "acpi-generic-initiator",
                        [.init("id", .string("gi\(gi)")), .init("pci-dev", id), .init("node", .int(Int64(n)))]))
                gi += 1
            }
            node += nodesPerGraceGPU
        }

        if r.egm {
            var seen: Set<Int> = []
            for d in r.devices where d.grace {
                guard let region = d.egm, seen.insert(region.pxm).inserted else { continue }
                let memID = "egm\(region.pxm)"
                opts.append(
                    QEMUOption(
                        "-object", "memory-backend-file",
                        [
                            .init("id", .string(memID)), .init("mem-path", .string(region.device)),
                            .init("size", .int(Int64(region.size))),
                            .init("share", .bool(true)), .init("prealloc", .bool(true)),
                        ]))
                opts.append(
                    QEMUOption("-numa", "node", [.init("nodeid", .int(Int64(node))), .init("memdev", .string(memID))]))
                notes.append(
                    "guest NUMA node \(node) is EGM region egm\(region.pxm) (\(EGMRegions.humanSize(region.size)) from \(region.device)): QEMU requires -m to equal the sum of the NUMA nodes' memory, so include it in -m; upstream QEMU has no object that ties the node to the GPU (NVIDIA's QEMU fork adds acpi-egm-memory)"
                )
                do throws(HostKitError) {
                    let pages = try retiredPages(region.pxm)
                    if !pages.isEmpty {
                        let size =
                            Set(pages.map(\.size)).count == 1 ? " (\(EGMRegions.humanSize(pages[0].size)) each)" : ""
                        warnings.append(
                            "EGM region egm\(region.pxm) (\(region.device), GPU \(region.gpus.joined(separator: ", "))) has \(pages.count) retired page\(pages.count == 1 ? "" : "s")\(size) at offsets \(EGMRegions.describeOffsets(pages)); no public QEMU option passes retired pages to the guest, so the guest is not told to avoid them"
                        )
                    }
                } catch {
                    warnings.append(
                        "could not read the retired pages of EGM region egm\(region.pxm): \(error.message); check them before starting the guest"
                    )
                }
                node += 1
            }
        }
        if r.devices.contains(where: \.grace) {
            notes.append(
                "guest NUMA nodes \(r.firstNode)-\(node - 1) are vgpuctl's: the guest's own nodes must be 0-\(r.firstNode - 1) (--first-node \(r.firstNode))"
            )
        }
        return QEMUCommandLine(options: opts, deviceJSON: r.deviceJSON, warnings: warnings, notes: notes)
    }

    /// The `-device` options of one device and its companions.
    static func deviceOptions(_ d: AssignedDevice, _ r: QEMUArgsRequest, slot: Int?) -> [QEMUOption] {
        var functions: [(source: AssignedDevice.Source, id: String, primary: Bool)] = [(d.source, d.qemuID, true)]
        functions += d.companions.map { (.pci($0), QEMUDeviceID.hostdev($0), false) }
        let multifunction = slot != nil && functions.count > 1
        return functions.enumerated().map { fn, f in
            var p: [QEMUOption.Property] = []
            switch f.source {
            case .pci(let a): p.append(.init("host", .string(a.description)))
            case .mdev(_, let path, _, _): p.append(.init("sysfsdev", .string(path)))
            }
            if let bus = r.bus { p.append(.init("bus", .string(bus))) }
            if let slot { p.append(.init("addr", .string(hex(slot, 2) + ".\(fn)"))) }
            if multifunction && fn == 0 { p.append(.init("multifunction", .bool(true))) }
            if let rb = r.rombar ?? (d.grace && f.primary ? 0 : nil) { p.append(.init("rombar", .int(Int64(rb)))) }
            if r.iommufd { p.append(.init("iommufd", .string(iommufdID))) }
            p.append(.init("id", .string(f.id)))
            return QEMUOption("-device", d.grace && f.primary ? "vfio-pci-nohotplug" : "vfio-pci", p)
        }
    }

    static func validate(_ r: QEMUArgsRequest) throws(HypervisorError) {
        if let bus = r.bus, !QEMUDeviceID.isValid(bus) {
            throw .invalid(
                .badOption,
                "--bus '\(bus)' is not a QEMU bus id (a letter, then letters, digits, '-', '.', '_'; e.g. pcie.0)")
        }
        if let s = r.firstSlot, Int(s) + r.devices.count > 32 {
            throw .invalid(
                .badOption, "--addr \(hex(s, 2)).0 leaves no room for \(r.devices.count) devices (slots end at 1f)")
        }
        if let s = r.firstSlot, r.devices.contains(where: { $0.companions.count > 7 }) {
            throw .invalid(.badOption, "a device at --addr \(hex(s, 2)).0 has more than 8 functions")
        }
        if let rb = r.rombar, !(0...1).contains(rb) { throw .invalid(.badOption, "--rombar takes 0 or 1, not \(rb)") }
        guard (0...4096).contains(r.firstNode) else {
            throw .invalid(.badOption, "--first-node must be between 0 and 4096, not \(r.firstNode)")
        }
    }

    static func requireFeatures(_ r: QEMUArgsRequest, _ caps: QEMUCapabilities) throws(HypervisorError) {
        if let g = r.devices.first(where: \.grace) {
            try caps.require(
                .acpiGenericInitiator, for: "Grace GPU \(g.name) needs (one per guest NUMA node of the GPU)")
            try caps.require(.vfioPCINoHotplug, for: "Grace GPU \(g.name) is handed over with")
            if r.egm, let e = r.devices.first(where: { $0.grace && $0.egm != nil }), let region = e.egm {
                try caps.require(
                    .memoryBackendFile, for: "EGM region egm\(region.pxm) of \(e.name) needs (--no-egm leaves EGM out)")
            }
        }
        if r.devices.contains(where: { !$0.grace }) {
            try caps.require(.vfioPCI, for: "every passed-through device needs")
        }
        if r.iommufd { try caps.require(.iommufd, for: "--iommufd needs") }
        if r.deviceJSON { try caps.require(.jsonDevice, for: "--device-json needs") }
    }

    /// Checks that this host can give QEMU iommufd access to `devices`: `/dev/iommu` (Linux 6.2+,
    /// CONFIG_IOMMUFD) and, for each assigned PCI device, its VFIO device file
    /// (`vfio-dev/vfioN`, Linux 6.6+, CONFIG_VFIO_DEVICE_CDEV).
    public static func checkIOMMUFD(root: HostRoot, devices: [AssignedDevice]) throws(HypervisorError) {
        let sysfs = SysfsReader(root: root)
        guard sysfs.exists("dev/iommu") else {
            throw .failed(
                .iommufd,
                "--iommufd needs \(root.url("dev/iommu")), which this kernel does not provide (iommufd: Linux 6.2+ with CONFIG_IOMMUFD); leave out --iommufd to use the VFIO group backend"
            )
        }
        for d in devices where !d.isPlanned {
            guard let a = d.address else { continue }
            let dir = HostRoot.deviceFile(a, "vfio-dev")
            if sysfs.vfioCdevs(a).isEmpty {
                throw .failed(
                    .iommufd,
                    "--iommufd needs the VFIO device file of \(a) (\(root.url(dir))/vfioN/dev and /dev/vfio/devices/vfioN), which this kernel does not create (CONFIG_VFIO_DEVICE_CDEV, Linux 6.6+); leave out --iommufd"
                )
            }
        }
    }
}
