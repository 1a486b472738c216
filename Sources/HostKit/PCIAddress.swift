/// A PCI function address, `DDDD:BB:DD.F` (domain, bus, device, function).
///
/// Parsing is strict: anything that is not a well-formed address (`../../etc`, `0000:zz:00.0`)
/// is rejected, so an address can be used safely as a path component.
public struct PCIAddress: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public var domain: UInt32
    public var bus: UInt8
    public var device: UInt8
    public var function: UInt8

    public init(domain: UInt32, bus: UInt8, device: UInt8, function: UInt8) {
        precondition(device < 32 && function < 8 && domain <= 0xFFFF_FFFF)
        self.domain = domain
        self.bus = bus
        self.device = device
        self.function = function
    }

    /// Parses `DDDD:BB:DD.F` or `BB:DD.F` (domain 0). Hex digits in either case.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        let domainText: Substring
        let busText: Substring
        let devfn: Substring
        switch parts.count {
        case 3: (domainText, busText, devfn) = (parts[0], parts[1], parts[2])
        case 2: (domainText, busText, devfn) = ("0000", parts[0], parts[1])
        default: return nil
        }
        let df = devfn.split(separator: ".", omittingEmptySubsequences: false)
        guard df.count == 2,
              (1...8).contains(domainText.count), (1...2).contains(busText.count),
              (1...2).contains(df[0].count), df[1].count == 1,
              let d = UInt32(domainText, radix: 16), let b = UInt8(busText, radix: 16),
              let dev = UInt8(df[0], radix: 16), let fn = UInt8(df[1], radix: 16),
              dev < 32, fn < 8,
              [domainText, busText, df[0], df[1]].allSatisfy({ $0.allSatisfy(\.isHexDigit) })
        else { return nil }
        self.init(domain: d, bus: b, device: dev, function: fn)
    }

    /// The 16-bit routing id (bus << 8 | device << 3 | function) used by SR-IOV arithmetic.
    public var routingID: UInt16 { UInt16(bus) << 8 | UInt16(device) << 3 | UInt16(function) }

    /// The address in `domain` with the given routing id.
    public init(domain: UInt32, routingID: UInt16) {
        self.init(domain: domain, bus: UInt8(routingID >> 8), device: UInt8((routingID >> 3) & 0x1f), function: UInt8(routingID & 7))
    }

    public var description: String {
        hex(domain, 4) + ":" + hex(UInt32(bus), 2) + ":" + hex(UInt32(device), 2) + "." + String(function)
    }

    public static func < (a: PCIAddress, b: PCIAddress) -> Bool {
        (a.domain, a.bus, a.device, a.function) < (b.domain, b.bus, b.device, b.function)
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let a = PCIAddress(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "'\(text)' is not a PCI address (DDDD:BB:DD.F)"))
        }
        self = a
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    /// Parses a user-supplied address, throwing an invalid-input error that quotes it.
    public static func parse(_ text: String, what: String = "PCI address") throws(VGPUError) -> PCIAddress {
        guard let a = PCIAddress(text) else {
            throw .invalid("'\(text)' is not a valid \(what); expected DDDD:BB:DD.F, e.g. 0000:01:00.0")
        }
        return a
    }
}

/// Lower-case hex of `value`, zero-padded to `width` digits.
@inlinable
public func hex<T: BinaryInteger>(_ value: T, _ width: Int) -> String {
    let s = String(value, radix: 16)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
}
