import Foundation

/// Plain reads under a host root, and pure parsers of sysfs file contents.
public struct SysfsReader: Sendable {
    public let root: HostRoot

    public init(root: HostRoot) { self.root = root }

    /// The contents of `relative` as text, or nil when it does not exist or cannot be read.
    public func text(_ relative: String) -> String? {
        bytes(relative).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The contents of `relative` as bytes, or nil when it does not exist or cannot be read
    /// (``contents(_:)`` says why).
    public func bytes(_ relative: String) -> [UInt8]? {
        try? contents(relative)
    }

    /// The contents of `relative` as bytes (`open(2)` + `read(2)`, retried on `EINTR`: sysfs
    /// files are small and this is the hot path of every inventory). A failure names the call,
    /// its errno and the full path.
    public func contents(_ relative: String) throws(SystemCallError) -> [UInt8] {
        let path = root.url(relative)
        let fd = try systemCall("open", path: path) { open(path, O_RDONLY | O_CLOEXEC) }
        defer { close(fd) }
        return try Self.readAll(fd, path: path)
    }

    /// The target of the symlink at `relative`, as written in the link, or nil (``linkTarget(_:)``
    /// says why).
    public func link(_ relative: String) -> String? {
        try? linkTarget(relative)
    }

    /// The target of the symlink at `relative`, as written in the link (`readlink(2)`, retried on
    /// `EINTR`). A failure names the call, its errno and the full path.
    public func linkTarget(_ relative: String) throws(SystemCallError) -> String {
        let path = root.url(relative)
        var buf = [CChar](repeating: 0, count: 4096)
        let n = try systemCall("readlink", path: path) { readlink(path, &buf, buf.count - 1) }
        return buf.withUnsafeBytes { String(decoding: $0.prefix(n), as: UTF8.self) }
    }

    /// The last path component of the symlink target at `relative` (e.g. the driver name of
    /// `driver`, the group number of `iommu_group`).
    public func linkName(_ relative: String) -> String? {
        guard let t = link(relative) else { return nil }
        guard let slash = t.lastIndex(of: "/") else { return t }
        let name = t[t.index(after: slash)...]
        return name.isEmpty ? nil : String(name)
    }

    /// The names in directory `relative` (sorted), or [] when it does not exist or cannot be read
    /// (``entries(_:)`` says why).
    public func list(_ relative: String) -> [String] {
        (try? entries(relative)) ?? []
    }

    /// The names in directory `relative` (sorted) (`opendir(3)`, retried on `EINTR`). A failure
    /// names the call, its errno and the full path.
    public func entries(_ relative: String) throws(SystemCallError) -> [String] {
        let path = root.url(relative)
        let dir = try systemCallReturningPointer("opendir", path: path) { opendir(path) }
        defer { closedir(dir) }
        var names: [String] = []
        while let e = readdir(dir) {
            let name = Self.name(e)
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// What a directory entry is, from `getdents64`'s `d_type` (an `fstatat` when the file system
    /// does not say): links are not followed.
    public enum EntryKind: Sendable, Equatable {
        case directory, link, other
    }

    /// The name of a `readdir` entry (`d_name`, NUL-terminated within its array).
    static func name(_ e: UnsafeMutablePointer<dirent>) -> String {
        withUnsafeBytes(of: e.pointee.d_name) { raw in
            guard let base = raw.baseAddress else { return "" }
            let n = strnlen(base.assumingMemoryBound(to: CChar.self), raw.count)
            return String(decoding: UnsafeRawBufferPointer(start: base, count: n), as: UTF8.self)
        }
    }

    /// Whether `relative` exists (following links).
    public func exists(_ relative: String) -> Bool {
        access(root.url(relative), F_OK) == 0
    }

    /// Whether `relative` exists as a symlink (without following it).
    public func isLink(_ relative: String) -> Bool {
        var st = stat()
        return lstat(root.url(relative), &st) == 0 && (st.st_mode & S_IFMT) == S_IFLNK
    }
}

/// Pure parsers for the formats the kernel prints in sysfs.
public enum SysfsParse {
    /// `text` without leading and trailing ASCII white space (sysfs values end in a newline).
    @inline(__always)
    static func trimmed(_ text: String) -> Substring {
        let ws: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }
        guard let first = text.firstIndex(where: { !ws($0) }), let last = text.lastIndex(where: { !ws($0) }) else {
            return ""
        }
        return text[first...last]
    }

    /// `"0x10de\n"` -> 0x10de. Accepts an optional `0x` prefix and surrounding white space.
    public static func hex(_ text: String?) -> UInt64? {
        guard let text else { return nil }
        var t = trimmed(text)
        if t.hasPrefix("0x") || t.hasPrefix("0X") { t = t.dropFirst(2) }
        guard !t.isEmpty, t.count <= 16 else { return nil }
        return UInt64(t, radix: 16)
    }

    /// `"12\n"` -> 12; `"-1\n"` -> -1.
    public static func int(_ text: String?) -> Int? {
        guard let text else { return nil }
        let t = trimmed(text)
        return t.isEmpty ? nil : Int(t)
    }

    /// `driver_override`: `"(null)\n"` or empty means none.
    public static func driverOverride(_ text: String?) -> String? {
        guard let text else { return nil }
        let t = trimmed(text)
        guard !t.isEmpty, t != "(null)" else { return nil }
        return String(t)
    }

    /// One line of sysfs `resource`: start, end, flags (`0x%016llx 0x%016llx 0x%016llx`).
    public struct Resource: Sendable, Equatable, Codable {
        public var start: UInt64
        public var end: UInt64
        public var flags: UInt64
        public init(start: UInt64, end: UInt64, flags: UInt64) {
            self.start = start
            self.end = end
            self.flags = flags
        }
        public var size: UInt64 { end >= start && (start != 0 || end != 0) ? end - start + 1 : 0 }
    }

    /// Parses sysfs `resource` (one line per resource; 13 for an endpoint: 6 BARs, the ROM,
    /// 6 SR-IOV VF BARs). Malformed lines yield nil entries' absence: the result has one entry
    /// per well-formed line, in order.
    public static func resources(_ text: String?) -> [Resource] {
        guard let text else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count == 3, let a = hex(String(f[0])), let b = hex(String(f[1])), let c = hex(String(f[2])) else {
                return nil
            }
            return Resource(start: a, end: b, flags: c)
        }
    }
}
