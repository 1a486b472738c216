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
    public func device(_ a: PCIAddress) -> PCIDevice? {
        let base = HostRoot.device(a)
        guard exists(base) else { return nil }
        func f(_ n: String) -> String? { text(base + "/" + n) }
        var sriov: PCIDevice.SRIOVState?
        if let total = SysfsParse.int(f("sriov_totalvfs")) {
            let num = SysfsParse.int(f("sriov_numvfs")) ?? 0
            let vfs = list(base).compactMap { name -> (Int, PCIAddress)? in
                guard name.hasPrefix("virtfn"), let i = Int(name.dropFirst(6)),
                    let target = linkName(base + "/" + name), let addr = PCIAddress(target)
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
            driver: linkName(base + "/driver"),
            driverOverride: SysfsParse.driverOverride(f("driver_override")),
            iommuGroup: linkName(base + "/iommu_group").flatMap { Int($0) },
            numaNode: SysfsParse.int(f("numa_node")) ?? -1,
            sriov: sriov,
            physfn: linkName(base + "/physfn").flatMap(PCIAddress.init),
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
