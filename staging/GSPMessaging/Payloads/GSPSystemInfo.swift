import HostKit

/// The payload of `GSP_SET_SYSTEM_INFO` (`GspSystemInfo`, 0x3A0 bytes for r570.144).
///
/// Exact: the size and the offset of every field listed in ``Offset`` (checked against the C
/// mirror). Simplified: only the fields nova-core fills (BAR addresses, bus/device/function,
/// `maxUserVa`, the PCI config mirror, ids) plus `gspVFInfo` and `hostPageSize` are set; the
/// ACPI, chipset and upstream-port fields stay zero, as nova-core leaves them.
public struct GSPSystemInfo: Codable, Equatable, Sendable {
    public static let size = 0x3A0

    /// Field offsets in `GspSystemInfo`.
    public enum Offset {
        public static let gpuPhysAddr = 0x00
        public static let gpuPhysFbAddr = 0x08
        public static let gpuPhysInstAddr = 0x10
        public static let nvDomainBusDeviceFunc = 0x20
        public static let maxUserVa = 0x48
        public static let pciConfigMirrorBase = 0x50
        public static let pciConfigMirrorSize = 0x54
        public static let pciDeviceID = 0x58
        public static let pciSubDeviceID = 0x5C
        public static let pciRevisionID = 0x60
        public static let hypervisorType = 0x344
        public static let gspVFInfo = 0x358
        public static let bIsPrimary = 0x380
        public static let hostPageSize = 0x398
    }

    /// BAR0 (registers), BAR1 (frame buffer aperture), BAR3 (instance memory): Linux resource
    /// indices 0, 1 and 3, as nova-core passes them.
    public var gpuPhysAddr: UInt64 = 0
    public var gpuPhysFbAddr: UInt64 = 0
    public var gpuPhysInstAddr: UInt64 = 0
    /// `pci_dev_id()`: bus << 8 | devfn.
    public var nvDomainBusDeviceFunc: UInt64 = 0
    /// nova-core: `(1 << 47) - 4096`.
    public var maxUserVa: UInt64 = (1 << 47) - 4096
    /// Where GSP-RM mirrors PCI config space in BAR0 (0x88000, 0x1000 bytes).
    public var pciConfigMirrorBase: UInt32 = 0x088000
    public var pciConfigMirrorSize: UInt32 = 0x001000
    /// device << 16 | vendor.
    public var pciDeviceID: UInt32 = 0
    /// subsystem device << 16 | subsystem vendor.
    public var pciSubDeviceID: UInt32 = 0
    public var pciRevisionID: UInt32 = 0
    public var vfInfo: GSPVFInfo = .none
    public var isPrimary: Bool = false
    public var hostPageSize: UInt64 = 4096

    public init() {}

    /// Decodes a payload (which must be exactly ``size`` bytes; callers check).
    public init(decoding b: [UInt8]) {
        gpuPhysAddr = b.le64(Offset.gpuPhysAddr)
        gpuPhysFbAddr = b.le64(Offset.gpuPhysFbAddr)
        gpuPhysInstAddr = b.le64(Offset.gpuPhysInstAddr)
        nvDomainBusDeviceFunc = b.le64(Offset.nvDomainBusDeviceFunc)
        maxUserVa = b.le64(Offset.maxUserVa)
        pciConfigMirrorBase = b.le32(Offset.pciConfigMirrorBase)
        pciConfigMirrorSize = b.le32(Offset.pciConfigMirrorSize)
        pciDeviceID = b.le32(Offset.pciDeviceID)
        pciSubDeviceID = b.le32(Offset.pciSubDeviceID)
        pciRevisionID = b.le32(Offset.pciRevisionID)
        vfInfo = GSPVFInfo(decoding: b, at: Offset.gspVFInfo)
        isPrimary = b[Offset.bIsPrimary] != 0
        hostPageSize = b.le64(Offset.hostPageSize)
    }

    /// The 0x3A0 encoded bytes, unset fields zero.
    public var encoded: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        b.put64(Offset.gpuPhysAddr, gpuPhysAddr)
        b.put64(Offset.gpuPhysFbAddr, gpuPhysFbAddr)
        b.put64(Offset.gpuPhysInstAddr, gpuPhysInstAddr)
        b.put64(Offset.nvDomainBusDeviceFunc, nvDomainBusDeviceFunc)
        b.put64(Offset.maxUserVa, maxUserVa)
        b.put32(Offset.pciConfigMirrorBase, pciConfigMirrorBase)
        b.put32(Offset.pciConfigMirrorSize, pciConfigMirrorSize)
        b.put32(Offset.pciDeviceID, pciDeviceID)
        b.put32(Offset.pciSubDeviceID, pciSubDeviceID)
        b.put32(Offset.pciRevisionID, pciRevisionID)
        vfInfo.encode(into: &b, at: Offset.gspVFInfo)
        b[Offset.bIsPrimary] = isPrimary ? 1 : 0
        b.put64(Offset.hostPageSize, hostPageSize)
        return b
    }

    /// The system info for the PF at `address` from its config space: ids from the standard
    /// header, BAR addresses from BAR registers 0, 1 and 3, and, when `vgpu` is set and
    /// `sriovOffset` names the SR-IOV capability, `gspVFInfo` from it.
    public init(address: PCIAddress, config: ConfigSpace, sriovOffset: Int?, vgpu: Bool) {
        self.init()
        gpuPhysAddr = Self.barAddress(config, register: 0)
        gpuPhysFbAddr = Self.barAddress(config, register: 1)
        gpuPhysInstAddr = Self.barAddress(config, register: 3)
        nvDomainBusDeviceFunc = UInt64(address.routingID)
        pciDeviceID = UInt32(config.deviceID ?? 0) << 16 | UInt32(config.vendorID ?? 0)
        pciSubDeviceID = UInt32(config.u16(0x2E) ?? 0) << 16 | UInt32(config.u16(0x2C) ?? 0)
        pciRevisionID = UInt32(config.u8(0x08) ?? 0)
        if vgpu, let off = sriovOffset, let vf = GSPVFInfo(config: config, sriovOffset: off) {
            vfInfo = vf
        }
    }

    /// The address in standard-header BAR register `register` (plus the next register for a
    /// 64-bit memory BAR), 0 when absent.
    static func barAddress(_ config: ConfigSpace, register: Int) -> UInt64 {
        guard let low = config.u32(0x10 + 4 * register) else { return 0 }
        if low & 1 != 0 { return UInt64(low & ~3) }
        var address = UInt64(low & ~0xF)
        if (low >> 1) & 3 == 2, register < 5, let high = config.u32(0x10 + 4 * (register + 1)) {
            address |= UInt64(high) << 32
        }
        return address
    }
}
