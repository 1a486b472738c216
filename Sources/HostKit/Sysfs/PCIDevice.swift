import Foundation

/// What sysfs says about one PCI function, read once.
public struct PCIDevice: Sendable, Equatable {
    public var address: PCIAddress
    public var vendorID: UInt16
    public var deviceID: UInt16
    /// 24-bit class code (base, sub, prog-if), e.g. 0x030200.
    public var classCode: UInt32
    public var subsystemVendorID: UInt16?
    public var subsystemDeviceID: UInt16?
    /// Bound driver name, nil when unbound.
    public var driver: String?
    public var driverOverride: String?
    public var iommuGroup: Int?
    /// `numa_node`; -1 when the platform does not say.
    public var numaNode: Int
    /// SR-IOV state of a PF, nil otherwise.
    public var sriov: SRIOVState?
    /// The PF of a VF, nil otherwise.
    public var physfn: PCIAddress?
    /// The canonical sysfs path of the device (`sys/devices/...`), relative to the root.
    public var canonicalPath: String?
    /// The entries of its sysfs directory as they were when it was read, so that a later walk of
    /// the directory (``DeviceUsage``) does not read it again. Not part of equality: two reads of
    /// the same device are equal when what they say about it is.
    public var entries: [SysfsReader.Entry] = []

    public static func == (a: PCIDevice, b: PCIDevice) -> Bool {
        a.address == b.address && a.vendorID == b.vendorID && a.deviceID == b.deviceID && a.classCode == b.classCode
            && a.subsystemVendorID == b.subsystemVendorID && a.subsystemDeviceID == b.subsystemDeviceID
            && a.driver == b.driver && a.driverOverride == b.driverOverride && a.iommuGroup == b.iommuGroup
            && a.numaNode == b.numaNode && a.sriov == b.sriov && a.physfn == b.physfn
            && a.canonicalPath == b.canonicalPath
    }

    public struct SRIOVState: Sendable, Equatable {
        public var totalVFs: Int
        public var numVFs: Int
        /// VF addresses in VF index order (`virtfn0`, `virtfn1`, ...).
        public var vfs: [PCIAddress]
        public var driversAutoprobe: Bool?
    }

    public var isBridge: Bool { classCode >> 8 == UInt32(PCIIDs.classBridgePCI) }
    public var isNVIDIAGPU: Bool { PCIIDs.isNVIDIAGPU(vendor: vendorID, classCode: classCode) }
    public var isGrace: Bool { PCIIDs.isGrace(vendor: vendorID, device: deviceID) }
    public var isVF: Bool { physfn != nil }
    /// `vendor:device` in lower-case hex.
    public var id: String { hex(vendorID, 4) + ":" + hex(deviceID, 4) }
}

extension SysfsReader {
    /// The addresses of every PCI function under `sys/bus/pci/devices`, sorted.
    public func pciAddresses() -> [PCIAddress] {
        list(HostRoot.pciDevices).compactMap(PCIAddress.init).sorted()
    }

    /// Reads one device. Returns nil when its directory does not exist.
    ///
    /// The directory is opened once and its files are read relative to it, only those among its
    /// entries (``Directory``); when it exists but cannot be opened as a directory, each file is
    /// tried by its path.
    public func device(_ a: PCIAddress) -> PCIDevice? {
        let base = HostRoot.device(a)
        if let dir = directory(base) { return device(a, in: dir) }
        guard exists(base) else { return nil }
        return device(
            a, base: base, text: { text(base + "/" + $0) }, linkName: { linkName(base + "/" + $0) },
            names: list(base))
    }

    /// Device `a` read from its directory, already open.
    private func device(_ a: PCIAddress, in dir: Directory) -> PCIDevice {
        var d = device(a, base: dir.path, text: dir.attribute, linkName: dir.linkName, names: dir.entries.map(\.name))
        d.entries = dir.entries
        return d
    }

    /// What a plan reads of the PCI functions: every function that is not a VF whole (as
    /// ``device(_:)`` reads it), and of each VF (a function with a `physfn` link to a PF) only
    /// its PF, driver, IOMMU group and directory listing: a host of 8 GPUs with 32 VFs each is
    /// mostly VFs, and a plan uses nothing else of them.
    public func functions() -> PCIFunctions {
        var out = PCIFunctions()
        for a in pciAddresses() {
            let base = HostRoot.device(a)
            guard let dir = directory(base) else {
                if let d = device(a) { out.devices.append(d) }
                continue
            }
            if dir.entries.contains(where: { $0.name == "physfn" }),
                let pf = dir.linkName("physfn").flatMap(PCIAddress.init)
            {
                out.vfs[a] = PCIFunctions.VF(
                    address: a, physfn: pf, driver: dir.linkName("driver"),
                    iommuGroup: dir.linkName("iommu_group").flatMap { Int($0) }, entries: dir.entries)
            } else {
                out.devices.append(device(a, in: dir))
            }
        }
        return out
    }

    /// Builds device `a` from its files: `text` and `linkName` of an entry name, and the names in
    /// its directory (for `virtfn*`).
    private func device(
        _ a: PCIAddress, base: String, text f: (String) -> String?, linkName l: (String) -> String?, names: [String]
    ) -> PCIDevice {
        var sriov: PCIDevice.SRIOVState?
        if let total = SysfsParse.int(f("sriov_totalvfs")) {
            let num = SysfsParse.int(f("sriov_numvfs")) ?? 0
            let vfs = names.compactMap { name -> (Int, PCIAddress)? in
                guard name.hasPrefix("virtfn"), let i = Int(name.dropFirst(6)), let target = l(name),
                    let addr = PCIAddress(target)
                else { return nil }
                return (i, addr)
            }.sorted { $0.0 < $1.0 }.map(\.1)
            sriov = .init(
                totalVFs: total, numVFs: num, vfs: vfs,
                driversAutoprobe: SysfsParse.int(f("sriov_drivers_autoprobe")).map { $0 != 0 })
        }
        let canonical = link(base).map { target -> String in
            // sys/bus/pci/devices/X -> ../../../devices/...: resolve against sys/bus/pci/devices.
            resolveRelative(target, from: HostRoot.pciDevices)
        }
        return PCIDevice(
            address: a,
            vendorID: UInt16(truncatingIfNeeded: SysfsParse.hex(f("vendor")) ?? 0xFFFF),
            deviceID: UInt16(truncatingIfNeeded: SysfsParse.hex(f("device")) ?? 0xFFFF),
            classCode: UInt32(truncatingIfNeeded: SysfsParse.hex(f("class")) ?? 0),
            subsystemVendorID: SysfsParse.hex(f("subsystem_vendor")).map { UInt16(truncatingIfNeeded: $0) },
            subsystemDeviceID: SysfsParse.hex(f("subsystem_device")).map { UInt16(truncatingIfNeeded: $0) },
            driver: l("driver"),
            driverOverride: SysfsParse.driverOverride(f("driver_override")),
            iommuGroup: l("iommu_group").flatMap { Int($0) },
            numaNode: SysfsParse.int(f("numa_node")) ?? -1,
            sriov: sriov,
            physfn: l("physfn").flatMap(PCIAddress.init),
            canonicalPath: canonical
        )
    }

    /// Resolves a relative link target against the root-relative directory holding the link,
    /// giving a root-relative path (`..` never climbs above the root).
    public func resolveRelative(_ target: String, from dir: String) -> String {
        var parts = target.hasPrefix("/") ? [] : dir.split(separator: "/").map(String.init)
        for c in target.split(separator: "/") {
            switch c {
            case ".": continue
            case "..": if !parts.isEmpty { parts.removeLast() }
            default: parts.append(String(c))
            }
        }
        return parts.joined(separator: "/")
    }

    /// Every device, sorted by address.
    public func allDevices() -> [PCIDevice] { pciAddresses().compactMap(device) }

    /// The members of IOMMU group `n`, sorted.
    public func iommuGroupMembers(_ n: Int) -> [PCIAddress] {
        list("\(HostRoot.iommuGroups)/\(n)/devices").compactMap(PCIAddress.init).sorted()
    }

    /// Config space bytes from sysfs `config` (64 bytes for an unprivileged reader on a real host).
    public func configSpace(_ a: PCIAddress) -> ConfigSpace? {
        bytes(HostRoot.deviceFile(a, "config")).map(ConfigSpace.init)
    }

    /// The device's `resource` lines.
    public func resources(_ a: PCIAddress) -> [SysfsParse.Resource] {
        SysfsParse.resources(text(HostRoot.deviceFile(a, "resource")))
    }

    /// Loaded PCI drivers (names under `sys/bus/pci/drivers`).
    public func pciDrivers() -> [String] { list(HostRoot.pciDrivers) }
}

/// The PCI functions as a plan reads them (``SysfsReader/functions()``).
public struct PCIFunctions: Sendable {
    /// Every function that is not a VF, sorted by address, read whole.
    public var devices: [PCIDevice] = []
    /// Every VF, by address, with what a plan uses of it.
    public var vfs: [PCIAddress: VF] = [:]

    public init() {}

    /// A VF: the fields ``PCIDevice`` would give it of the same names.
    public struct VF: Sendable, Equatable {
        public var address: PCIAddress
        public var physfn: PCIAddress
        public var driver: String?
        public var iommuGroup: Int?
        public var entries: [SysfsReader.Entry]

        public init(
            address: PCIAddress, physfn: PCIAddress, driver: String?, iommuGroup: Int?, entries: [SysfsReader.Entry]
        ) {
            self.address = address
            self.physfn = physfn
            self.driver = driver
            self.iommuGroup = iommuGroup
            self.entries = entries
        }
    }
}
