/// One kernel uevent, as the kernel broadcasts it on a `NETLINK_KOBJECT_UEVENT` socket
/// (multicast group 1) from `kobject_uevent_env()` (lib/kobject_uevent.c).
///
/// The wire format is the header `ACTION@DEVPATH` followed by NUL-separated `KEY=VALUE`
/// strings:
///
/// ```
/// add@/devices/pci0000:00/0000:00:01.0/0000:01:00.4\0ACTION=add\0DEVPATH=/devices/...\0
/// SUBSYSTEM=pci\0PCI_SLOT_NAME=0000:01:00.4\0...\0SEQNUM=4711\0
/// ```
///
/// udevd's re-broadcast (multicast group 2) starts with the magic `libudev\0` and a binary
/// header instead; ``parse(_:)`` rejects it.
public struct Uevent: Sendable, Equatable, CustomStringConvertible {
    /// `ACTION`: `add`, `remove`, `change`, `move`, `online`, `offline`, `bind`, `unbind`.
    public var action: String
    /// `DEVPATH`: the device's path below `/sys`, starting with `/` (`/devices/pci0000:00/...`).
    public var devpath: String
    /// `SUBSYSTEM`: `pci`, `module`, `net`, ...
    public var subsystem: String
    /// `SEQNUM`: the kernel's uevent sequence number, increasing by one per event.
    public var seqnum: UInt64
    /// Every `KEY=VALUE` of the message, including `ACTION`, `DEVPATH`, `SUBSYSTEM` and `SEQNUM`.
    public var properties: [String: String]

    /// `PCI_SLOT_NAME` (`0000:01:00.4`), sent for devices on the PCI bus.
    public var pciSlotName: String? { properties["PCI_SLOT_NAME"] }
    /// `DRIVER`: the bound driver, sent with `bind` (and with `add`/`change` of a bound device).
    public var driver: String? { properties["DRIVER"] }
    /// ``pciSlotName`` parsed as an address; nil when absent or malformed.
    public var pciAddress: PCIAddress? { pciSlotName.flatMap(PCIAddress.init) }

    /// Creates an event. `properties` gets `ACTION`, `DEVPATH`, `SUBSYSTEM` and `SEQNUM` set from
    /// the other arguments, as the kernel always sends them.
    public init(
        action: String, devpath: String, subsystem: String, seqnum: UInt64,
        properties: [String: String] = [:]
    ) {
        self.action = action
        self.devpath = devpath
        self.subsystem = subsystem
        self.seqnum = seqnum
        var p = properties
        p["ACTION"] = action
        p["DEVPATH"] = devpath
        p["SUBSYSTEM"] = subsystem
        p["SEQNUM"] = String(seqnum)
        self.properties = p
    }

    public var description: String {
        var s = "\(action) \(subsystem) \(devpath) (seqnum \(seqnum)"
        if let driver { s += ", driver \(driver)" }
        return s + ")"
    }

    /// The magic that starts udevd's monitor messages (`libudev\0`); such messages are not kernel
    /// uevents and ``parse(_:)`` rejects them.
    public static let udevMagic: [UInt8] = Array("libudev".utf8)

    /// The largest message ``parse(_:)`` looks at; the kernel's own limit is a 2048-byte
    /// environment (`UEVENT_BUFFER_SIZE`) plus the `ACTION@DEVPATH` header.
    public static let maximumMessageSize = 16 * 1024

    /// Parses one kernel uevent datagram.
    ///
    /// Returns nil for anything that is not a well-formed kernel uevent: udevd's `libudev`
    /// messages, a header without `@` or with an empty action or a devpath not starting with `/`,
    /// a field without `=` or with an empty key, a duplicate key, `ACTION`/`DEVPATH` properties
    /// that disagree with the header, a missing `SUBSYSTEM` or a missing or non-decimal `SEQNUM`,
    /// bytes that are not UTF-8, or more than ``maximumMessageSize`` bytes. Empty fields (runs
    /// of NUL, as padding at the end) are skipped. Never traps and never reads outside `bytes`.
    public static func parse(_ bytes: [UInt8]) -> Uevent? {
        guard !bytes.isEmpty, bytes.count <= maximumMessageSize else { return nil }
        if bytes.starts(with: udevMagic) { return nil }

        var fields = bytes.split(separator: 0, omittingEmptySubsequences: true)[...]
        guard let header = fields.popFirst(),
            let at = header.firstIndex(of: UInt8(ascii: "@")),
            let action = string(header[header.startIndex..<at]),
            let devpath = string(header[header.index(after: at)...]),
            isAction(action), devpath.hasPrefix("/")
        else { return nil }

        var properties: [String: String] = [:]
        for field in fields {
            guard let eq = field.firstIndex(of: UInt8(ascii: "=")), eq != field.startIndex,
                let key = string(field[field.startIndex..<eq]),
                let value = string(field[field.index(after: eq)...]),
                properties.updateValue(value, forKey: key) == nil
            else { return nil }
        }

        guard properties["ACTION"].map({ $0 == action }) ?? true,
            properties["DEVPATH"].map({ $0 == devpath }) ?? true,
            let subsystem = properties["SUBSYSTEM"], !subsystem.isEmpty,
            let seqText = properties["SEQNUM"], !seqText.isEmpty,
            seqText.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
            let seqnum = UInt64(seqText)
        else { return nil }

        return Uevent(
            action: action, devpath: devpath, subsystem: subsystem, seqnum: seqnum,
            properties: properties)
    }

    /// Strict UTF-8 decoding; nil for invalid sequences.
    private static func string(_ bytes: ArraySlice<UInt8>) -> String? {
        String(validating: bytes, as: UTF8.self)
    }

    /// Kernel actions are lower-case ASCII words (`kobject_actions[]` in lib/kobject_uevent.c).
    private static func isAction(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 16
            && s.utf8.allSatisfy { $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") }
    }
}
