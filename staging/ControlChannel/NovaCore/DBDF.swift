import HostKit

/// A PCI function as GMC API names it (`NvU64 dbdf`, `pGpu->busInfo.nvDomainBusDeviceFunc`):
/// domain in bits 63:32, bus in 15:8, device and function (devfn) in 7:0.
public struct DBDF: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public init(_ a: PCIAddress) {
        rawValue = UInt64(a.domain) << 32 | UInt64(a.bus) << 8 | UInt64(a.device & 0x1F) << 3 | UInt64(a.function & 0x7)
    }

    /// The address, when the unused bits 31:16 are clear.
    public var address: PCIAddress? {
        guard rawValue & 0xFFFF_0000 == 0 else { return nil }
        return PCIAddress(
            domain: UInt32(rawValue >> 32), bus: UInt8(truncatingIfNeeded: rawValue >> 8),
            device: UInt8(truncatingIfNeeded: rawValue >> 3) & 0x1F, function: UInt8(truncatingIfNeeded: rawValue) & 0x7
        )
    }

    public var description: String { address?.description ?? hex0xDBDF(rawValue) }
}

func hex0xDBDF(_ v: UInt64) -> String { "dbdf 0x" + String(v, radix: 16) }
