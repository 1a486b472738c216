import HostKit

/// A property value on a QEMU command line.
public enum QEMUValue: Sendable, Equatable {
    case string(String)
    case int(Int64)
    case bool(Bool)

    /// The value in QEMU's `key=value` syntax: booleans are `on`/`off`, a comma is doubled
    /// (`file=my,,file` is the file `my,file`).
    public var keyvalText: String {
        switch self {
        case .string(let s): s.replacingOccurrences(of: ",", with: ",,")
        case .int(let i): String(i)
        case .bool(let b): b ? "on" : "off"
        }
    }

    /// The value as JSON (a typed member: QEMU's JSON `-device` checks the type of each property).
    public var jsonText: String {
        switch self {
        case .string(let s): JSONValue.string(s).jsonText
        case .int(let i): String(i)
        case .bool(let b): b ? "true" : "false"
        }
    }
}

/// One QEMU option: its flag (`-device`, `-object`, `-numa`), its leading word (the device
/// driver, the object type, `node`) and its properties in order.
public struct QEMUOption: Sendable, Equatable {
    public struct Property: Sendable, Equatable {
        public var key: String
        public var value: QEMUValue
        public init(_ key: String, _ value: QEMUValue) {
            self.key = key
            self.value = value
        }
    }

    public var flag: String
    public var head: String
    public var properties: [Property]

    public init(_ flag: String, _ head: String, _ properties: [Property]) {
        self.flag = flag
        self.head = head
        self.properties = properties
    }

    /// The value of property `key`, if set.
    public subscript(key: String) -> QEMUValue? { properties.first { $0.key == key }?.value }

    /// `head,key=value,...` with values escaped the way QEMU parses them.
    public var keyvalText: String {
        ([head.replacingOccurrences(of: ",", with: ",,")] + properties.map { "\($0.key)=\($0.value.keyvalText)" })
            .joined(separator: ",")
    }

    /// `{"driver":"vfio-pci","host":"...",...}`: a `-device` value in JSON syntax (QEMU >= 6.2).
    public var jsonDeviceText: String {
        let members = [("driver", JSONValue.string(head).jsonText)] + properties.map { ($0.key, $0.value.jsonText) }
        return "{" + members.map { JSONValue.string($0.0).jsonText + ":" + $0.1 }.joined(separator: ",") + "}"
    }

    /// The two command-line arguments, the value in JSON when `json` is set and this is a `-device`.
    public func arguments(deviceJSON json: Bool) -> [String] {
        [flag, json && flag == "-device" ? jsonDeviceText : keyvalText]
    }
}

/// Stable QEMU ids for host devices.
public enum QEMUDeviceID {
    /// `hostdev-` and the address with `:` made `-` (`hostdev-0000-00-03.2`): QEMU ids take
    /// letters, digits, `-`, `.`, `_` and start with a letter. The same id names the device in
    /// `qemu args`, QMP hotplug and (as `ua-hostdev-...`) libvirt.
    public static func hostdev(_ a: PCIAddress) -> String {
        "hostdev-" + a.description.replacingOccurrences(of: ":", with: "-")
    }

    /// `hostdev-<uuid>` for an mdev.
    public static func hostdev(mdev uuid: String) -> String { "hostdev-" + uuid.lowercased() }

    /// Whether `id` is a valid QEMU id (a letter, then letters, digits, `-`, `.`, `_`).
    public static func isValid(_ id: String) -> Bool {
        guard let first = id.unicodeScalars.first, id.count <= 128,
            ("a"..."z").contains(first) || ("A"..."Z").contains(first)
        else { return false }
        return id.unicodeScalars.allSatisfy { s in
            ("a"..."z").contains(s) || ("A"..."Z").contains(s) || ("0"..."9").contains(s) || s == "-" || s == "."
                || s == "_"
        }
    }
}
