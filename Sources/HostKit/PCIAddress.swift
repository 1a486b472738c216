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
        // One pass over the bytes (this runs for every name under sys/bus/pci/devices).
        var fields: [UInt32] = []
        var widths: [Int] = []
        var value: UInt32 = 0
        var width = 0
        var seps: [UInt8] = []
        for c in text.utf8 {
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            case UInt8(ascii: ":"), UInt8(ascii: "."):
                guard width > 0, fields.count < 3 else { return nil }
                fields.append(value)
                widths.append(width)
                seps.append(c)
                value = 0
                width = 0
                continue
            default: return nil
            }
            width += 1
            guard width <= 8 else { return nil }
            value = value << 4 | d
        }
        guard width > 0 else { return nil }
        fields.append(value)
        widths.append(width)
        let colon = UInt8(ascii: ":")
        let dot = UInt8(ascii: ".")
        let domain: UInt32
        let bus: UInt32
        let dev: UInt32
        let fn: UInt32
        let w: [Int]
        switch (fields.count, seps) {
        case (4, [colon, colon, dot]):
            (domain, bus, dev, fn) = (fields[0], fields[1], fields[2], fields[3])
            w = widths
        case (3, [colon, dot]):
            (domain, bus, dev, fn) = (0, fields[0], fields[1], fields[2])
            w = [4] + widths
        default:
            return nil
        }
        guard (1...8).contains(w[0]), (1...2).contains(w[1]), (1...2).contains(w[2]), w[3] == 1,
            bus <= 0xFF, dev < 32, fn < 8
        else { return nil }
        self.init(domain: domain, bus: UInt8(bus), device: UInt8(dev), function: UInt8(fn))
    }

    /// The 16-bit routing id (bus << 8 | device << 3 | function) used by SR-IOV arithmetic.
    public var routingID: UInt16 { UInt16(bus) << 8 | UInt16(device) << 3 | UInt16(function) }

    /// The address in `domain` with the given routing id.
    public init(domain: UInt32, routingID: UInt16) {
        self.init(
            domain: domain, bus: UInt8(routingID >> 8), device: UInt8((routingID >> 3) & 0x1f),
            function: UInt8(routingID & 7))
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
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "'\(text)' is not a PCI address (DDDD:BB:DD.F)")
            )
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
            throw .invalid(.badAddress, "'\(text)' is not a valid \(what); expected DDDD:BB:DD.F, e.g. 0000:01:00.0")
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
