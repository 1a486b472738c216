import CDirent
import Glibc

extension SysfsReader {
    /// One directory entry: its name and kind (``EntryKind``, links not followed).
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var kind: EntryKind

        public init(name: String, kind: EntryKind) {
            self.name = name
            self.kind = kind
        }
    }

    /// A directory opened once, with its entries read in one pass, whose files are then read
    /// relative to it (`openat(2)`, `readlinkat(2)`).
    ///
    /// Why: a path under a simulated root or `sys/bus/pci/devices/<BDF>` is a dozen components
    /// and a symlink, walked again by the kernel for every file; relative to an open directory a
    /// read walks one component. A file that is not among the entries is not asked for at all
    /// (no failing `open` of `sriov_totalvfs` on every VF). This is the inventory's hot path
    /// (issue #20: 59% of `list`'s time was the kernel walking paths).
    public final class Directory {
        /// The directory, relative to the root.
        public let path: String
        /// Its entries in the order `readdir` gives them.
        public let entries: [Entry]
        private let fd: Int32
        private let kinds: [String: EntryKind]

        /// Opens `relative` under `root` (following links), or nil when it is not a readable
        /// directory.
        convenience init?(_ root: HostRoot, _ relative: String) {
            let full = root.url(relative)
            let fd = retryingOnEINTR { open(full, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
            guard fd >= 0 else { return nil }
            self.init(fd: fd, path: relative)
        }

        /// Takes `fd`, an open directory, and reads its entries (`getdents64(2)` straight into a
        /// stack buffer: `opendir(3)` would add an `fstat(2)`). A read error ends the listing,
        /// as it ends `readdir(3)`.
        init(fd: Int32, path: String) {
            self.fd = fd
            self.path = path
            var out: [Entry] = []
            withUnsafeTemporaryAllocation(byteCount: 32768, alignment: 8) { buf in
                while true {
                    let n = retryingOnEINTR { vgpuctl_getdents64(fd, buf.baseAddress, UInt(buf.count)) }
                    if n <= 0 { return }
                    var at = 0
                    while at < n {
                        let record = UnsafeRawBufferPointer(rebasing: buf[at..<n])
                        let length = Int(
                            record.loadUnaligned(fromByteOffset: Int(VGPUCTL_DIRENT_RECLEN), as: UInt16.self))
                        guard length > 0, length <= record.count else { return }
                        let type = record[Int(VGPUCTL_DIRENT_TYPE)]
                        let nameBytes = record[Int(VGPUCTL_DIRENT_NAME)..<length]
                        let name = String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self)
                        at += length
                        if name == "." || name == ".." { continue }
                        let kind: EntryKind
                        switch Int32(type) {
                        case Int32(DT_DIR): kind = .directory
                        case Int32(DT_LNK): kind = .link
                        case Int32(DT_UNKNOWN):
                            var st = stat()
                            let t = fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? st.st_mode & S_IFMT : 0
                            kind = t == S_IFDIR ? .directory : t == S_IFLNK ? .link : .other
                        default: kind = .other
                        }
                        out.append(Entry(name: name, kind: kind))
                    }
                }
            }
            entries = out
            kinds = Dictionary(out.map { ($0.name, $0.kind) }, uniquingKeysWith: { a, _ in a })
        }

        deinit { close(fd) }

        /// Subdirectory `name`, opened relative to this one (one path component to walk), or nil.
        public func child(_ name: String) -> Directory? {
            guard kinds[name] == .directory || kinds[name] == .link else { return nil }
            let sub = retryingOnEINTR { openat(fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
            guard sub >= 0 else { return nil }
            return Directory(fd: sub, path: path + "/" + name)
        }

        /// Whether `name` is an entry (of any kind).
        public func has(_ name: String) -> Bool { kinds[name] != nil }

        /// The contents of entry `name` as text, or nil when there is no such entry or it cannot
        /// be read.
        public func text(_ name: String) -> String? {
            guard has(name) else { return nil }
            let full = path + "/" + name
            guard let file = try? systemCall("openat", path: full, { openat(fd, name, O_RDONLY | O_CLOEXEC) })
            else { return nil }
            defer { close(file) }
            return (try? SysfsReader.readAll(file, path: full)).map { String(decoding: $0, as: UTF8.self) }
        }

        /// The contents of attribute `name` as text, or nil when there is no such entry or it
        /// cannot be read. For sysfs attributes and regular files only, where a read that
        /// returns less than asked has reached the end (a sysfs attribute is at most a page and
        /// comes whole from its first read): it saves the second `read` that would return 0.
        /// Not for `proc` files, which come a record at a time.
        public func attribute(_ name: String) -> String? {
            guard has(name) else { return nil }
            guard
                let file = try? systemCall(
                    "openat", path: path + "/" + name, { openat(fd, name, O_RDONLY | O_CLOEXEC) })
            else { return nil }
            defer { close(file) }
            var out: [UInt8] = []
            let ok = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 4096) { chunk -> Bool in
                while true {
                    let n = retryingOnEINTR { read(file, chunk.baseAddress, chunk.count) }
                    if n < 0 { return false }
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[0..<n]))
                    if n < chunk.count { return true }
                }
            }
            return ok ? String(decoding: out, as: UTF8.self) : nil
        }

        /// The last path component of the target of link `name`, or nil (see
        /// ``SysfsReader/linkName(_:)``).
        public func linkName(_ name: String) -> String? {
            guard kinds[name] == .link, let t = linkTarget(name) else { return nil }
            guard let slash = t.lastIndex(of: "/") else { return t }
            let last = t[t.index(after: slash)...]
            return last.isEmpty ? nil : String(last)
        }

        /// The target of link `name` as written in the link, or nil.
        public func linkTarget(_ name: String) -> String? {
            guard has(name) else { return nil }
            return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 4096) { buf -> String? in
                guard let p = buf.baseAddress else { return nil }
                let n = retryingOnEINTR { readlinkat(fd, name, p, buf.count - 1) }
                guard n >= 0 else { return nil }
                return String(decoding: UnsafeRawBufferPointer(start: buf.baseAddress, count: n), as: UTF8.self)
            }
        }
    }

    /// `relative` opened as a ``Directory``, or nil when it is not a readable directory.
    public func directory(_ relative: String) -> Directory? { Directory(root, relative) }

    /// Everything `fd` has left to read (`read(2)` until it returns 0, retried on `EINTR`).
    static func readAll(_ fd: Int32, path: String) throws(SystemCallError) -> [UInt8] {
        var out: [UInt8] = []
        // An uninitialised stack buffer: zero-filling a heap chunk per file showed up as 11% of
        // a converged apply's instructions.
        let failure = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 4096) { chunk -> SystemCallError? in
            while true {
                let n: Int
                do throws(SystemCallError) {
                    n = try systemCall("read", path: path) { read(fd, chunk.baseAddress, chunk.count) }
                } catch {
                    return error
                }
                if n == 0 { return nil }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[0..<n]))
            }
        }
        if let failure { throw failure }
        return out
    }
}
