import Foundation

/// Plain reads under a host root, and pure parsers of sysfs file contents.
public struct SysfsReader: Sendable {
    public let root: HostRoot

    public init(root: HostRoot) { self.root = root }

    /// The contents of `relative` as text, or nil when it does not exist or cannot be read.
    public func text(_ relative: String) -> String? {
        guard let data = FileManager.default.contents(atPath: root.url(relative)) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// The contents of `relative` as bytes, or nil.
    public func bytes(_ relative: String) -> [UInt8]? {
        guard let data = FileManager.default.contents(atPath: root.url(relative)) else { return nil }
        return [UInt8](data)
    }

    /// The target of the symlink at `relative`, as written in the link, or nil.
    public func link(_ relative: String) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: root.url(relative))
    }

    /// The last path component of the symlink target at `relative` (e.g. the driver name of
    /// `driver`, the group number of `iommu_group`).
    public func linkName(_ relative: String) -> String? {
        link(relative).map { ($0 as NSString).lastPathComponent }
    }

    /// The names in directory `relative` (sorted), or [] when it does not exist.
    public func list(_ relative: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root.url(relative))) ?? []).sorted()
    }

    /// Whether `relative` exists (following links).
    public func exists(_ relative: String) -> Bool {
        FileManager.default.fileExists(atPath: root.url(relative))
    }

    /// Whether `relative` exists as a symlink (without following it).
    public func isLink(_ relative: String) -> Bool {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: root.url(relative))) != nil
    }
}

/// Pure parsers for the formats the kernel prints in sysfs.
public enum SysfsParse {
    /// `"0x10de\n"` -> 0x10de. Accepts an optional `0x` prefix and surrounding white space.
    public static func hex(_ text: String?) -> UInt64? {
        guard var t = text?.trimmingCharacters(in: .whitespacesAndNewlines), !t.isEmpty else { return nil }
        if t.hasPrefix("0x") || t.hasPrefix("0X") { t.removeFirst(2) }
        guard !t.isEmpty, t.count <= 16 else { return nil }
        return UInt64(t, radix: 16)
    }

    /// `"12\n"` -> 12; `"-1\n"` -> -1.
    public static func int(_ text: String?) -> Int? {
        guard let t = text?.trimmingCharacters(in: .whitespacesAndNewlines), !t.isEmpty else { return nil }
        return Int(t)
    }

    /// `driver_override`: `"(null)\n"` or empty means none.
    public static func driverOverride(_ text: String?) -> String? {
        guard let t = text?.trimmingCharacters(in: .whitespacesAndNewlines), !t.isEmpty, t != "(null)" else { return nil }
        return t
    }

    /// One line of sysfs `resource`: start, end, flags (`0x%016llx 0x%016llx 0x%016llx`).
    public struct Resource: Sendable, Equatable, Codable {
        public var start: UInt64
        public var end: UInt64
        public var flags: UInt64
        public init(start: UInt64, end: UInt64, flags: UInt64) { self.start = start; self.end = end; self.flags = flags }
        public var size: UInt64 { end >= start && (start != 0 || end != 0) ? end - start + 1 : 0 }
    }

    /// Parses sysfs `resource` (one line per resource; 13 for an endpoint: 6 BARs, the ROM,
    /// 6 SR-IOV VF BARs). Malformed lines yield nil entries' absence: the result has one entry
    /// per well-formed line, in order.
    public static func resources(_ text: String?) -> [Resource] {
        guard let text else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count == 3, let a = hex(String(f[0])), let b = hex(String(f[1])), let c = hex(String(f[2])) else { return nil }
            return Resource(start: a, end: b, flags: c)
        }
    }
}
