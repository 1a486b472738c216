import HostKit

/// `GSP_VF_INFO`: what GSP-RM learns about the PF's virtual functions in
/// `GSP_SET_SYSTEM_INFO` (40 bytes at `GspSystemInfo.gspVFInfo`, offset 0x358).
///
/// | offset | field |
/// |---|---|
/// | 0x00 | `totalVFs` |
/// | 0x04 | `firstVFOffset` |
/// | 0x08 | `FirstVFBar0Address` |
/// | 0x10 | `FirstVFBar1Address` |
/// | 0x18 | `FirstVFBar2Address` |
/// | 0x20 | `b64bitBar0`, `b64bitBar1`, `b64bitBar2` (one byte each), 5 bytes padding |
public struct GSPVFInfo: Codable, Equatable, Sendable {
    public static let size = 0x28

    public var totalVFs: UInt32
    public var firstVFOffset: UInt32
    public var firstVFBar0Address: UInt64
    public var firstVFBar1Address: UInt64
    public var firstVFBar2Address: UInt64
    public var b64bitBar0: Bool
    public var b64bitBar1: Bool
    public var b64bitBar2: Bool

    public init(
        totalVFs: UInt32 = 0, firstVFOffset: UInt32 = 0, firstVFBar0Address: UInt64 = 0,
        firstVFBar1Address: UInt64 = 0, firstVFBar2Address: UInt64 = 0,
        b64bitBar0: Bool = false, b64bitBar1: Bool = false, b64bitBar2: Bool = false
    ) {
        self.totalVFs = totalVFs
        self.firstVFOffset = firstVFOffset
        self.firstVFBar0Address = firstVFBar0Address
        self.firstVFBar1Address = firstVFBar1Address
        self.firstVFBar2Address = firstVFBar2Address
        self.b64bitBar0 = b64bitBar0
        self.b64bitBar1 = b64bitBar1
        self.b64bitBar2 = b64bitBar2
    }

    /// All zero: what a boot without vGPU sends.
    public static let none = GSPVFInfo()

    /// Decodes 40 bytes of `bytes` at `offset`.
    public init(decoding bytes: [UInt8], at offset: Int = 0) {
        totalVFs = bytes.le32(offset)
        firstVFOffset = bytes.le32(offset + 4)
        firstVFBar0Address = bytes.le64(offset + 8)
        firstVFBar1Address = bytes.le64(offset + 0x10)
        firstVFBar2Address = bytes.le64(offset + 0x18)
        b64bitBar0 = bytes[offset + 0x20] != 0
        b64bitBar1 = bytes[offset + 0x21] != 0
        b64bitBar2 = bytes[offset + 0x22] != 0
    }

    /// Writes the 40 bytes into `bytes` at `offset`.
    public func encode(into bytes: inout [UInt8], at offset: Int = 0) {
        bytes.put32(offset, totalVFs)
        bytes.put32(offset + 4, firstVFOffset)
        bytes.put64(offset + 8, firstVFBar0Address)
        bytes.put64(offset + 0x10, firstVFBar1Address)
        bytes.put64(offset + 0x18, firstVFBar2Address)
        bytes[offset + 0x20] = b64bitBar0 ? 1 : 0
        bytes[offset + 0x21] = b64bitBar1 ? 1 : 0
        bytes[offset + 0x22] = b64bitBar2 ? 1 : 0
    }

    /// The 40 encoded bytes.
    public var encoded: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        encode(into: &b)
        return b
    }

    /// Fills the structure from the SR-IOV extended capability at `sriovOffset` of `config`,
    /// the way GSP-RM's own CPU-side code does (`kbifCacheVFInfo_GH100` and
    /// `_kbifGetBarInfo_GH100` in open-gpu-kernel-modules): TotalVFs (+0x0E), First VF Offset
    /// (+0x14), and VF BARs 0, 1 and 2 counted as *BARs*, not registers: the walk starts at
    /// VF BAR register 0 (+0x24) and steps 8 bytes past a 64-bit BAR, so on NVIDIA's layout
    /// (32-bit BAR0, 64-bit BAR1 and BAR2) "BAR2" is the one in registers 3-4. Addresses are
    /// the register value with the low four bits cleared, plus the upper register for 64-bit
    /// BARs. Nil when the capability is cut short.
    public init?(config: ConfigSpace, sriovOffset: Int) {
        guard let total = config.u16(sriovOffset + SRIOVCapability.totalVF),
            let first = config.u16(sriovOffset + SRIOVCapability.vfOffset)
        else { return nil }
        var bars: [(UInt64, Bool)] = []
        var reg = sriovOffset + SRIOVCapability.bar0
        let limit = sriovOffset + SRIOVCapability.bar0 + 6 * 4
        while bars.count < 3 {
            guard reg < limit, let low = config.u32(reg) else { return nil }
            let is64 = (low >> 1) & 3 == 2 && low & 1 == 0
            var address = UInt64(low & 0xFFFF_FFF0)
            if is64 {
                guard reg + 4 < limit, let high = config.u32(reg + 4) else { return nil }
                address |= UInt64(high) << 32
            }
            bars.append((address, is64))
            reg += is64 ? 8 : 4
        }
        self.init(
            totalVFs: UInt32(total), firstVFOffset: UInt32(first),
            firstVFBar0Address: bars[0].0, firstVFBar1Address: bars[1].0, firstVFBar2Address: bars[2].0,
            b64bitBar0: bars[0].1, b64bitBar1: bars[1].1, b64bitBar2: bars[2].1)
    }
}
