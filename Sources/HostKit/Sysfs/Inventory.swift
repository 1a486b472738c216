import Foundation

/// The inventory `vgpuctl list` shows: devices with names, grouped relations and EGM regions.
public struct Inventory: Sendable {
    public var devices: [Entry]
    public var egm: [EGMRegion]

    /// One device as listed.
    public struct Entry: Sendable, Encodable {
        public var device: PCIDevice
        public var name: String
        public var vendorName: String?
        /// For Grace GPUs and every GPU: the VFIO driver its passthrough needs.
        public var vfioDriver: PCIIDs.VFIODriver?
        /// Who uses the device (`DeviceUsage`), when the caller looked (`list` does).
        public var inUseBy: [DeviceUser] = []

        enum Keys: String, CodingKey {
            case address, vendorID, deviceID, `class`, name, vendorName, driver, driverOverride, iommuGroup, numaNode
            case sriov, physfn, isGPU, grace, vfioDriver, subsystemVendorID, subsystemDeviceID
            case inUse, inUseBy
        }
        enum SRIOVKeys: String, CodingKey { case totalVFs, numVFs, vfs, driversAutoprobe }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            let d = device
            try c.encode(d.address.description, forKey: .address)
            try c.encode(hex(d.vendorID, 4), forKey: .vendorID)
            try c.encode(hex(d.deviceID, 4), forKey: .deviceID)
            try c.encode(hex(d.classCode, 6), forKey: .class)
            try c.encode(name, forKey: .name)
            try c.encode(vendorName, forKey: .vendorName)
            try c.encode(d.subsystemVendorID.map { hex($0, 4) }, forKey: .subsystemVendorID)
            try c.encode(d.subsystemDeviceID.map { hex($0, 4) }, forKey: .subsystemDeviceID)
            try c.encode(d.driver, forKey: .driver)
            try c.encode(d.driverOverride, forKey: .driverOverride)
            try c.encode(d.iommuGroup, forKey: .iommuGroup)
            try c.encode(d.numaNode, forKey: .numaNode)
            if let s = d.sriov {
                var sc = c.nestedContainer(keyedBy: SRIOVKeys.self, forKey: .sriov)
                try sc.encode(s.totalVFs, forKey: .totalVFs)
                try sc.encode(s.numVFs, forKey: .numVFs)
                try sc.encode(s.vfs.map(\.description), forKey: .vfs)
                try sc.encode(s.driversAutoprobe, forKey: .driversAutoprobe)
            } else {
                try c.encodeNil(forKey: .sriov)
            }
            try c.encode(d.physfn?.description, forKey: .physfn)
            try c.encode(d.isNVIDIAGPU, forKey: .isGPU)
            try c.encode(d.isGrace, forKey: .grace)
            try c.encode(vfioDriver, forKey: .vfioDriver)
            try c.encode(!DeviceUser.certain(inUseBy).isEmpty, forKey: .inUse)
            try c.encode(inUseBy, forKey: .inUseBy)
        }
    }

    /// An EGM region (`sys/class/egm/egm<pxm>`).
    public struct EGMRegion: Sendable, Encodable, Equatable {
        public var pxm: Int
        public var size: UInt64
        public var gpus: [String]
        public var device: String
    }

    /// Which devices to list.
    public enum Scope: Sendable {
        /// GPUs, their VFs, and every device sharing an IOMMU group with them.
        case gpus
        /// Every PCI function.
        case all
    }

    /// Reads the inventory of `root`. Names come from libpci's id database (falling back to
    /// vgpuctl's table for parts the database does not know yet).
    public static func read(root: HostRoot, scope: Scope, names: LibPCI? = nil) -> Inventory {
        let sysfs = SysfsReader(root: root)
        let all = sysfs.allDevices()
        var selected: [PCIDevice]
        switch scope {
        case .all:
            selected = all
        case .gpus:
            let gpus = all.filter { $0.isNVIDIAGPU }
            let gpuSet = Set(gpus.map(\.address))
            let groups = Set(gpus.compactMap(\.iommuGroup))
            selected = all.filter { d in
                gpuSet.contains(d.address) || d.physfn.map(gpuSet.contains) == true
                    || d.iommuGroup.map(groups.contains) == true
            }
        }
        let entries = selected.map { d in
            Entry(
                device: d, name: name(of: d, names: names),
                vendorName: names?.vendorName(d.vendorID),
                vfioDriver: d.isNVIDIAGPU ? PCIIDs.vfioDriver(vendor: d.vendorID, device: d.deviceID) : nil)
        }
        return Inventory(devices: entries, egm: egmRegions(sysfs))
    }

    static func name(of d: PCIDevice, names: LibPCI?) -> String {
        if let n = names?.deviceName(vendor: d.vendorID, device: d.deviceID) { return n }
        if d.vendorID == PCIIDs.nvidiaVendor, let n = PCIIDs.fallbackNames[d.deviceID] { return n }
        if let n = names?.className(UInt16(d.classCode >> 8)) { return "\(n) \(d.id)" }
        return "Device \(d.id)"
    }

    /// EGM regions from `sys/class/egm`.
    public static func egmRegions(_ sysfs: SysfsReader) -> [EGMRegion] {
        sysfs.list(HostRoot.egmClass).compactMap { name -> EGMRegion? in
            guard name.hasPrefix("egm"), let pxm = Int(name.dropFirst(3)) else { return nil }
            let dir = "\(HostRoot.egmClass)/\(name)"
            let size = SysfsParse.hex(sysfs.text("\(dir)/egm_size")) ?? 0
            let gpus = sysfs.list(dir).filter { PCIAddress($0) != nil }
            return EGMRegion(pxm: pxm, size: size, gpus: gpus, device: "/dev/egm\(pxm)")
        }.sorted { $0.pxm < $1.pxm }
    }
}
