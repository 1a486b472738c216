/// A kernel uevent someone is waiting for: an action on a subsystem, optionally narrowed to one
/// PCI function, one devpath, one driver or further properties.
///
/// Used with ``UeventListener/waitFor(_:deadline:)``; for example, after writing 2 to
/// `sriov_numvfs` of `0000:01:00.0` the caller waits for `.pciAdd(0000:01:00.4)` and
/// `.pciAdd(0000:01:00.5)`.
public struct UeventMatch: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// Required `ACTION` (`add`, `remove`, `bind`, `unbind`, `change`, ...).
    public var action: String
    /// Required `SUBSYSTEM` (`pci`, `module`, ...).
    public var subsystem: String
    /// If set, `PCI_SLOT_NAME` must equal it (`0000:01:00.4`).
    public var pciSlotName: String?
    /// If set, `DEVPATH` must end with it at a path-component boundary: `0000:01:00.4` or
    /// `/0000:01:00.4` match `/devices/pci0000:00/0000:00:01.0/0000:01:00.4`, but `1:00.4` does
    /// not. A suffix starting with `/devices/` must equal the whole devpath.
    public var devpathSuffix: String?
    /// If set, `DRIVER` must equal it (`vfio-pci` for a `bind` after binding to vfio-pci).
    public var driver: String?
    /// Further `KEY=VALUE` pairs that must all be present with these values.
    public var properties: [String: String]

    public init(
        action: String, subsystem: String, pciSlotName: String? = nil,
        devpathSuffix: String? = nil, driver: String? = nil,
        properties: [String: String] = [:]
    ) {
        self.action = action
        self.subsystem = subsystem
        self.pciSlotName = pciSlotName
        self.devpathSuffix = devpathSuffix
        self.driver = driver
        self.properties = properties
    }

    /// `add` of the PCI function `address` (a new VF appears, or a device is hot-plugged).
    public static func pciAdd(_ address: PCIAddress) -> UeventMatch {
        UeventMatch(action: "add", subsystem: "pci", pciSlotName: address.description)
    }

    /// `remove` of the PCI function `address` (a VF disappears when `sriov_numvfs` is set to 0).
    public static func pciRemove(_ address: PCIAddress) -> UeventMatch {
        UeventMatch(action: "remove", subsystem: "pci", pciSlotName: address.description)
    }

    /// `bind` of the PCI function `address` to `driver` (or to any driver if nil).
    public static func pciBind(_ address: PCIAddress, driver: String? = nil) -> UeventMatch {
        UeventMatch(action: "bind", subsystem: "pci", pciSlotName: address.description, driver: driver)
    }

    /// `unbind` of the PCI function `address` from its driver.
    public static func pciUnbind(_ address: PCIAddress) -> UeventMatch {
        UeventMatch(action: "unbind", subsystem: "pci", pciSlotName: address.description)
    }

    /// Whether `event` satisfies every condition of this match.
    public func matches(_ event: Uevent) -> Bool {
        guard event.action == action, event.subsystem == subsystem else { return false }
        if let pciSlotName, event.pciSlotName != pciSlotName { return false }
        if let driver, event.driver != driver { return false }
        if let devpathSuffix, !Self.devpath(event.devpath, endsWith: devpathSuffix) { return false }
        for (key, value) in properties where event.properties[key] != value { return false }
        return true
    }

    static func devpath(_ devpath: String, endsWith suffix: String) -> Bool {
        guard !suffix.isEmpty else { return true }
        if suffix.hasPrefix("/devices/") { return devpath == suffix }
        let tail = suffix.hasPrefix("/") ? suffix : "/" + suffix
        return devpath.hasSuffix(tail)
    }

    /// `add pci 0000:01:00.4`, `bind pci 0000:01:00.4 driver vfio-pci`, ...
    public var description: String {
        var parts = [action, subsystem]
        if let pciSlotName { parts.append(pciSlotName) }
        if let devpathSuffix { parts.append("devpath …\(devpathSuffix.hasPrefix("/") ? "" : "/")\(devpathSuffix)") }
        if let driver { parts.append("driver \(driver)") }
        for key in properties.keys.sorted() { parts.append("\(key)=\(properties[key] ?? "")") }
        return parts.joined(separator: " ")
    }
}
