/// What the firmware reports about one VF's resources (stage 3's engine enumeration): its
/// channel range, the copy engines serving it and its BAR1 window. A nil figure was not
/// reported (the interface or the firmware carries no such figure).
public struct VFFirmwareReport: Sendable, Equatable, Codable {
    /// VF index (0 for `virtfn0`).
    public var vf: Int
    /// The VF's vGPU type, as the driver names it.
    public var type: String
    public var channels: GPUBook.Span?
    /// Copy engine indices, ascending.
    public var copyEngines: [Int]?
    public var bar1: BAR1Window?

    public init(
        vf: Int, type: String, channels: GPUBook.Span? = nil, copyEngines: [Int]? = nil, bar1: BAR1Window? = nil
    ) {
        self.vf = vf
        self.type = type
        self.channels = channels
        self.copyEngines = copyEngines
        self.bar1 = bar1
    }
}

/// A BAR1 window: bus address and size in bytes.
public struct BAR1Window: Sendable, Equatable, Codable, CustomStringConvertible {
    public var address: UInt64
    public var size: UInt64

    public init(address: UInt64, size: UInt64) {
        self.address = address
        self.size = size
    }

    /// One past the last byte (saturating).
    public var end: UInt64 { address.addingReportingOverflow(size).overflow ? .max : address + size }
    public func overlaps(_ o: BAR1Window) -> Bool { size > 0 && o.size > 0 && address < o.end && o.address < end }
    /// "4 GiB at 0x38c000000000".
    public var description: String { "\(byteText(size)) at \(busAddressText(address))" }
}

/// Bytes as the largest binary unit that divides them ("4 GiB", "256 KiB", "1000 bytes").
public func byteText(_ n: UInt64) -> String {
    for (shift, unit) in [(40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")] where n > 0 && n % (1 << shift) == 0 {
        return "\(n >> shift) \(unit)"
    }
    return "\(n) bytes"
}

/// A bus address as `0x…`.
func busAddressText(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }
