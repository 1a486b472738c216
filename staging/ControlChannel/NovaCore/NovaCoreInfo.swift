import GSPMessaging

/// The `FWCTL_INFO` device data of a nova-core device, `struct vgpuctl_fwctl_info_nova_core`
/// (provisional, vgpuctl's: nova-core's fwctl driver publishes none yet):
///
/// ```
/// 0x00 u16 vendor_id, device_id, subsystem_vendor_id, subsystem_id
/// 0x08 u32 flags        bit 0: GSP-RM runs with vGPU (SR-IOV mode)
/// 0x0c u32 total_vfs
/// 0x10 char firmware_version[16]   "570.144", NUL padded
/// ```
public struct NovaCoreInfo: Sendable, Equatable, Codable {
    public var vendorID: UInt16
    public var deviceID: UInt16
    public var subsystemVendorID: UInt16
    public var subsystemID: UInt16
    public var vgpu: Bool
    public var totalVFs: UInt32
    public var firmwareVersion: String

    public init(
        vendorID: UInt16, deviceID: UInt16, subsystemVendorID: UInt16, subsystemID: UInt16, vgpu: Bool,
        totalVFs: UInt32, firmwareVersion: String
    ) {
        self.vendorID = vendorID
        self.deviceID = deviceID
        self.subsystemVendorID = subsystemVendorID
        self.subsystemID = subsystemID
        self.vgpu = vgpu
        self.totalVFs = totalVFs
        self.firmwareVersion = firmwareVersion
    }

    public var encoded: [UInt8] {
        var b = [UInt8](repeating: 0, count: NovaCoreTable.infoSize)
        b.put16(0, vendorID)
        b.put16(2, deviceID)
        b.put16(4, subsystemVendorID)
        b.put16(6, subsystemID)
        b.put32(8, vgpu ? NovaCoreTable.infoFlagVGPU : 0)
        b.put32(12, totalVFs)
        b.putBytes(16, Array(firmwareVersion.utf8), limit: 15)
        return b
    }

    /// Reads the device data; nil when it is shorter than the struct.
    public init?(decoding b: [UInt8]) {
        guard b.count >= NovaCoreTable.infoSize else { return nil }
        vendorID = b.le16(0)
        deviceID = b.le16(2)
        subsystemVendorID = b.le16(4)
        subsystemID = b.le16(6)
        vgpu = b.le32(8) & NovaCoreTable.infoFlagVGPU != 0
        totalVFs = b.le32(12)
        firmwareVersion = b.cString(16, 16)
    }
}
