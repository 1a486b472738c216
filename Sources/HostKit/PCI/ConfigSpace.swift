/// Pure decoders of PCI configuration space bytes (no I/O): the standard and extended
/// capability lists, SR-IOV, Device Serial Number and NVIDIA's vendor DVSEC.
///
/// Register offsets follow the PCI Express Base Specification (names as in Linux's
/// `include/uapi/linux/pci_regs.h`, e.g. `PCI_SRIOV_TOTAL_VF`). Every read is bounds-checked:
/// short config space (an unprivileged read of sysfs `config` returns 64 bytes) yields fewer
/// capabilities, never a crash.
public struct ConfigSpace: Sendable, Equatable {
    public let bytes: [UInt8]

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    // PCI_* register offsets in the standard header.
    public static let vendorIDOffset = 0x00
    public static let statusOffset = 0x06
    public static let headerTypeOffset = 0x0E
    public static let capabilityListOffset = 0x34
    public static let statusCapList: UInt16 = 0x10
    public static let extendedStart = 0x100

    public func u8(_ off: Int) -> UInt8? { off >= 0 && off < bytes.count ? bytes[off] : nil }
    public func u16(_ off: Int) -> UInt16? {
        guard off >= 0, off + 2 <= bytes.count else { return nil }
        return UInt16(bytes[off]) | UInt16(bytes[off + 1]) << 8
    }
    public func u32(_ off: Int) -> UInt32? {
        guard off >= 0, off + 4 <= bytes.count else { return nil }
        return UInt32(bytes[off]) | UInt32(bytes[off + 1]) << 8 | UInt32(bytes[off + 2]) << 16 | UInt32(bytes[off + 3])
            << 24
    }

    public var vendorID: UInt16? { u16(0) }
    public var deviceID: UInt16? { u16(2) }
    /// Header type without the multi-function bit (0 endpoint, 1 bridge).
    public var headerType: UInt8? { u8(Self.headerTypeOffset).map { $0 & 0x7f } }

    /// A capability found in a list: its id and its offset in config space.
    public struct Capability: Sendable, Equatable, Hashable {
        public var id: UInt16
        public var offset: Int
        public var extended: Bool
        public init(id: UInt16, offset: Int, extended: Bool) {
            self.id = id
            self.offset = offset
            self.extended = extended
        }
    }

    /// Walks the standard capability list (from `PCI_CAPABILITY_LIST`, when `PCI_STATUS_CAP_LIST`
    /// is set). Stops at a loop, a pointer into the header, or the end of the data.
    public var capabilities: [Capability] {
        guard let status = u16(Self.statusOffset), status & Self.statusCapList != 0,
            var ptr = u8(Self.capabilityListOffset).map({ Int($0) & ~3 })
        else { return [] }
        var seen = Set<Int>()
        var out: [Capability] = []
        while ptr >= 0x40, ptr < 0x100, !seen.contains(ptr), let id = u8(ptr), let next = u8(ptr + 1) {
            seen.insert(ptr)
            out.append(Capability(id: UInt16(id), offset: ptr, extended: false))
            ptr = Int(next) & ~3
        }
        return out
    }

    /// Walks the extended capability list starting at 0x100. An all-zero or all-ones header ends it.
    public var extendedCapabilities: [Capability] {
        var ptr = Self.extendedStart
        var seen = Set<Int>()
        var out: [Capability] = []
        while ptr >= Self.extendedStart, ptr < 0x1000, !seen.contains(ptr), let header = u32(ptr),
            header != 0, header != 0xFFFF_FFFF
        {
            seen.insert(ptr)
            out.append(Capability(id: UInt16(header & 0xFFFF), offset: ptr, extended: true))
            ptr = Int(header >> 20) & ~3
        }
        return out
    }

    /// The first extended capability with `id`.
    public func extendedCapability(_ id: UInt16) -> Capability? {
        extendedCapabilities.first { $0.id == id }
    }

    /// The first standard capability with `id`.
    public func capability(_ id: UInt8) -> Capability? {
        capabilities.first { $0.id == UInt16(id) }
    }
}

/// Capability ids vgpuctl decodes (`PCI_CAP_ID_*`, `PCI_EXT_CAP_ID_*`).
public enum CapabilityID {
    public static let powerManagement: UInt8 = 0x01
    public static let msi: UInt8 = 0x05
    public static let pciExpress: UInt8 = 0x10
    public static let msix: UInt8 = 0x11
    public static let extAER: UInt16 = 0x0001
    public static let extDSN: UInt16 = 0x0003
    public static let extARI: UInt16 = 0x000E
    public static let extSRIOV: UInt16 = 0x0010
    public static let extDVSEC: UInt16 = 0x0023
}

/// The SR-IOV extended capability (`PCI_EXT_CAP_ID_SRIOV`), decoded.
public struct SRIOVCapability: Sendable, Equatable, Codable {
    /// Offset of the capability in config space.
    public var offset: Int
    public var initialVFs: UInt16
    public var totalVFs: UInt16
    public var numVFs: UInt16
    /// `PCI_SRIOV_CTRL_VFE`: VF Enable.
    public var vfEnabled: Bool
    public var firstVFOffset: UInt16
    public var vfStride: UInt16
    public var vfDeviceID: UInt16
    public var supportedPageSizes: UInt32
    public var systemPageSize: UInt32
    public var vfBARs: [BAR]

    /// One VF BAR as its register describes it (sizes need a sizing write, which vgpuctl never
    /// does; sysfs `resource` lines 7-12 give the total size of each VF BAR across all VFs).
    public struct BAR: Sendable, Equatable, Codable {
        /// BAR index 0-5 (a 64-bit BAR takes index and index+1).
        public var index: Int
        public var address: UInt64
        public var is64Bit: Bool
        public var prefetchable: Bool
        public var isIO: Bool

        public init(index: Int, address: UInt64, is64Bit: Bool, prefetchable: Bool, isIO: Bool) {
            self.index = index
            self.address = address
            self.is64Bit = is64Bit
            self.prefetchable = prefetchable
            self.isIO = isIO
        }
    }

    // Offsets within the capability (`PCI_SRIOV_*`).
    public static let ctrl = 0x08, initialVF = 0x0C, totalVF = 0x0E, numVF = 0x10
    public static let vfOffset = 0x14, vfStride = 0x16, vfDID = 0x1A
    public static let supPgSize = 0x1C, sysPgSize = 0x20, bar0 = 0x24
    public static let size = 0x40

    /// Decodes the capability at `cap.offset` of `config`; nil when the bytes are short.
    public init?(config: ConfigSpace, at offset: Int) {
        guard let initial = config.u16(offset + Self.initialVF), let total = config.u16(offset + Self.totalVF),
            let num = config.u16(offset + Self.numVF), let ctrl = config.u16(offset + Self.ctrl),
            let off = config.u16(offset + Self.vfOffset), let stride = config.u16(offset + Self.vfStride),
            let did = config.u16(offset + Self.vfDID), let sup = config.u32(offset + Self.supPgSize),
            let sys = config.u32(offset + Self.sysPgSize)
        else { return nil }
        self.offset = offset
        initialVFs = initial
        totalVFs = total
        numVFs = num
        vfEnabled = ctrl & 1 != 0
        firstVFOffset = off
        vfStride = stride
        vfDeviceID = did
        supportedPageSizes = sup
        systemPageSize = sys
        var bars: [BAR] = []
        var i = 0
        while i < 6 {
            guard let raw = config.u32(offset + Self.bar0 + 4 * i) else { return nil }
            let isIO = raw & 1 != 0
            let is64 = !isIO && (raw >> 1) & 3 == 2
            var address = UInt64(isIO ? raw & ~3 : raw & ~0xF)
            if is64, i < 5, let hi = config.u32(offset + Self.bar0 + 4 * (i + 1)) {
                address |= UInt64(hi) << 32
            }
            if raw != 0 || (is64 && address != 0) {
                bars.append(
                    BAR(index: i, address: address, is64Bit: is64, prefetchable: !isIO && raw & 8 != 0, isIO: isIO))
            }
            i += is64 ? 2 : 1
        }
        vfBARs = bars
    }

    /// The VF BAR whose (first) register is `index` 0-5. Note: `index` counts registers, and a
    /// 64-bit BAR takes two, so GSP's `GSP_VF_INFO` "BAR0/1/2" (which count BARs) are, on
    /// NVIDIA's layout, registers 0, 1 and 3. Registers that read 0 are not listed.
    public func bar(_ index: Int) -> BAR? { vfBARs.first { $0.index == index } }
}

extension ConfigSpace {
    /// The decoded SR-IOV capability, when present.
    public var sriov: SRIOVCapability? {
        extendedCapability(CapabilityID.extSRIOV).flatMap { SRIOVCapability(config: self, at: $0.offset) }
    }

    /// The Device Serial Number (`PCI_EXT_CAP_ID_DSN`): the 64-bit serial at +4 (low) and +8 (high).
    public var deviceSerialNumber: UInt64? {
        guard let cap = extendedCapability(CapabilityID.extDSN),
            let lo = u32(cap.offset + 4), let hi = u32(cap.offset + 8)
        else { return nil }
        return UInt64(hi) << 32 | UInt64(lo)
    }

    /// A Designated Vendor-Specific Extended Capability: (offset, vendor, revision, length, DVSEC id).
    public struct DVSEC: Sendable, Equatable {
        public var offset: Int
        public var vendorID: UInt16
        public var revision: UInt8
        public var length: UInt16
        public var dvsecID: UInt16
    }

    /// Every DVSEC in the extended list (`PCI_DVSEC_HEADER1` at +4, `PCI_DVSEC_HEADER2` at +8).
    public var dvsecs: [DVSEC] {
        extendedCapabilities.filter { $0.id == CapabilityID.extDVSEC }.compactMap { cap in
            guard let h1 = u32(cap.offset + 4), let h2 = u16(cap.offset + 8) else { return nil }
            return DVSEC(
                offset: cap.offset, vendorID: UInt16(h1 & 0xFFFF), revision: UInt8((h1 >> 16) & 0xF),
                length: UInt16(h1 >> 20), dvsecID: h2)
        }
    }

    /// The DVSEC of `vendor` with `id` (Linux `pci_find_dvsec_capability`).
    public func dvsec(vendor: UInt16, id: UInt16) -> DVSEC? {
        dvsecs.first { $0.vendorID == vendor && $0.dvsecID == id }
    }

    /// The PCI Express capability's device/port type (`PCI_EXP_FLAGS_TYPE`, bits 7:4 of +2).
    public var pcieDevicePortType: UInt8? {
        guard let cap = capability(CapabilityID.pciExpress), let flags = u16(cap.offset + 2) else { return nil }
        return UInt8((flags >> 4) & 0xF)
    }
}

/// NVIDIA's vendor DVSEC as nvgrace-gpu-vfio-pci reads it (`drivers/vfio/pci/nvgrace-gpu/main.c`).
public enum NVIDIADVSEC {
    /// `GPU_CAP_DVSEC_REGISTER`: the DVSEC id NVIDIA uses for GPU capability bits.
    public static let capabilityRegisterID: UInt16 = 3
    /// `DVSEC_BITMAP_OFFSET`: offset of the 16-bit capability bitmap within the DVSEC.
    public static let bitmapOffset = 0xA
    /// `MIG_SUPPORTED_WITH_CACHED_RESMEM`: bit 0 of the bitmap. Set means GH200's MIG hardware
    /// bug is absent.
    public static let migSupportedWithCachedResmem: UInt16 = 1

    /// Whether the GPU has GH200's MIG hardware bug, decided exactly as the kernel driver does:
    /// no NVIDIA DVSEC 3, or its bit 0 clear, means the bug is present (1 GiB carved out as resmem).
    public static func hasMIGHardwareBug(_ config: ConfigSpace) -> Bool {
        guard let d = config.dvsec(vendor: PCIIDs.nvidiaVendor, id: capabilityRegisterID),
            let bitmap = config.u16(d.offset + bitmapOffset)
        else { return true }
        return bitmap & migSupportedWithCachedResmem == 0
    }

    /// The raw bitmap, when the DVSEC is present and readable.
    public static func bitmap(_ config: ConfigSpace) -> UInt16? {
        guard let d = config.dvsec(vendor: PCIIDs.nvidiaVendor, id: capabilityRegisterID) else { return nil }
        return config.u16(d.offset + bitmapOffset)
    }
}
