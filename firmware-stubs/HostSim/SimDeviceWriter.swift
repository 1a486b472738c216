import Foundation
import GPUModels
import HostKit
import SimGPU

/// Writes and removes the sysfs directory of one simulated PCI function and the links that
/// tie it into the tree (`sys/bus/pci/devices/<BDF>`, `iommu_group`, the group's `devices/`).
struct SimDeviceWriter {
    let fs: SimFS

    /// Everything that goes into a function's directory.
    struct Function {
        var address: PCIAddress
        /// Canonical directory, root-relative (`sys/devices/pci0000:00/.../<BDF>`).
        var dir: String
        var vendorID: UInt16
        var deviceID: UInt16
        var classCode: UInt32
        var subsystemVendorID: UInt16
        var subsystemDeviceID: UInt16
        var revision: UInt8
        var numaNode: Int
        var iommuGroup: Int
        var config: [UInt8]
        var resources: [SysfsParse.Resource]
    }

    /// sysfs `resource` flags for a memory BAR (`IORESOURCE_MEM` 0x200, `IORESOURCE_PREFETCH`
    /// 0x2000, `IORESOURCE_MEM_64` 0x100000, `IORESOURCE_SIZEALIGN` 0x40000, plus the BAR's
    /// own low type bits as the kernel keeps them).
    static func resourceFlags(_ bar: BARSpec) -> UInt64 {
        var f: UInt64 = 0x200 | 0x40000
        if bar.prefetchable ?? false { f |= 0x2000 | 0x8 }
        if bar.is64Bit ?? false { f |= 0x100000 | 0x4 }
        return f
    }

    static func resourceText(_ rs: [SysfsParse.Resource]) -> String {
        rs.map { "0x\(hex($0.start, 16)) 0x\(hex($0.end, 16)) 0x\(hex($0.flags, 16))\n" }.joined()
    }

    func write(_ f: Function) throws {
        try fs.mkdir(f.dir)
        let d = f.dir
        try fs.write("\(d)/vendor", "0x\(hex(f.vendorID, 4))\n")
        try fs.write("\(d)/device", "0x\(hex(f.deviceID, 4))\n")
        try fs.write("\(d)/class", "0x\(hex(f.classCode, 6))\n")
        try fs.write("\(d)/subsystem_vendor", "0x\(hex(f.subsystemVendorID, 4))\n")
        try fs.write("\(d)/subsystem_device", "0x\(hex(f.subsystemDeviceID, 4))\n")
        try fs.write("\(d)/revision", "0x\(hex(f.revision, 2))\n")
        try fs.write("\(d)/numa_node", "\(f.numaNode)\n")
        try fs.write("\(d)/irq", "0\n")
        try fs.write("\(d)/enable", "1\n")
        try fs.write("\(d)/driver_override", "(null)\n")
        try fs.write("\(d)/local_cpulist", "\n")
        try fs.write(
            "\(d)/modalias",
            String(
                format: "pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X\n",
                UInt32(f.vendorID), UInt32(f.deviceID), UInt32(f.subsystemVendorID), UInt32(f.subsystemDeviceID),
                (f.classCode >> 16) & 0xff, (f.classCode >> 8) & 0xff, f.classCode & 0xff))
        try fs.write("\(d)/config", Data(f.config))
        try fs.write("\(d)/resource", Self.resourceText(f.resources))
        try fs.write(
            "\(d)/uevent",
            "DRIVER=\nPCI_CLASS=\(String(f.classCode, radix: 16, uppercase: true))\nPCI_ID=\(hex(f.vendorID, 4).uppercased()):\(hex(f.deviceID, 4).uppercased())\nPCI_SLOT_NAME=\(f.address)\n"
        )
        try fs.link(HostRoot.device(f.address), to: d)
        try fs.link("\(d)/subsystem", to: "sys/bus/pci")
        try joinGroup(f.address, dir: d, group: f.iommuGroup)
    }

    func joinGroup(_ a: PCIAddress, dir: String, group: Int) throws {
        let g = "\(HostRoot.iommuGroups)/\(group)"
        if !fs.exists("\(g)/type") { try fs.write("\(g)/type", "DMA\n") }
        try fs.mkdir("\(g)/devices")
        try fs.link("\(g)/devices/\(a)", to: dir)
        try fs.link("\(dir)/iommu_group", to: g)
    }

    /// Removes a function: its directory, its bus link and its group membership (and the group
    /// when it becomes empty).
    func remove(_ a: PCIAddress, dir: String, group known: Int? = nil) throws {
        if let group = known ?? SysfsReader(root: fs.root).linkName("\(dir)/iommu_group").flatMap(Int.init) {
            let g = "\(HostRoot.iommuGroups)/\(group)"
            try fs.remove("\(g)/devices/\(a)")
            if fs.list("\(g)/devices").isEmpty { try fs.remove(g) }
        }
        try fs.remove(HostRoot.device(a))
        try fs.remove(dir)
    }
}
