import Foundation
import HostKit

/// vgpuctl's record of its books, `var/lib/vgpuctl/vgpu-book.json` under the host root: per PF,
/// the catalog and every VF's entry (placement, channels, copy engines) as the book gave them.
/// The driver's view wins: on load, a recorded entry is kept only while the driver still reports
/// the same type on that VF (and the same placement, when the driver tells).
public struct VGPUBookStore: Sendable {
    public static let path = HostRoot.stateDir + "/vgpu-book.json"
    public let root: HostRoot

    public init(root: HostRoot) { self.root = root }

    public struct File: Codable, Sendable, Equatable {
        public var format: Int = 1
        public var pfs: [String: PFRecord] = [:]
    }

    public struct PFRecord: Codable, Sendable, Equatable {
        public var catalog: String
        public var entries: [GPUBook.Entry]
    }

    public func load() throws(VirtualFunctionsError) -> File {
        let url = root.url(Self.path)
        // Every read of a GPU's view loads the file: decoded once per version of it (a save
        // renames a new file over it, so its inode changes with every save).
        var st = stat()
        let key = stat(url, &st) == 0 ? Decoded.Key(st) : nil
        if let key, let hit = Decoded.cached(url, key) { return hit }
        guard let data = FileManager.default.contents(atPath: url) else { return File() }
        do {
            let f = try JSONDecoder().decode(File.self, from: data)
            if let key { Decoded.keep(url, key, f) }
            return f
        } catch {
            throw .failed(
                .stateFile,
                "\(url) is damaged (\(error)); move it aside and run the command again (vgpuctl rebuilds it from what the driver reports)"
            )
        }
    }

    /// The last decoded file per path, with the identity of the file it came from.
    enum Decoded {
        struct Key: Equatable {
            var dev: UInt64, ino: UInt64, size: Int64, sec: Int, nsec: Int
            init(_ st: stat) {
                dev = UInt64(st.st_dev)
                ino = UInt64(st.st_ino)
                size = Int64(st.st_size)
                sec = st.st_mtim.tv_sec
                nsec = st.st_mtim.tv_nsec
            }
        }
        nonisolated(unsafe) static var files: [String: (Key, File)] = [:]
        static let lock = NSLock()

        static func cached(_ path: String, _ key: Key) -> File? {
            lock.lock()
            defer { lock.unlock() }
            guard let (k, f) = files[path], k == key else { return nil }
            return f
        }

        static func keep(_ path: String, _ key: Key, _ f: File) {
            lock.lock()
            defer { lock.unlock() }
            files[path] = (key, f)
        }
    }

    /// The recorded entries of `pf` for `catalog` (none when recorded for another catalog).
    public func entries(pf: PCIAddress, catalog: String) throws(VirtualFunctionsError) -> [GPUBook.Entry] {
        guard let r = try load().pfs[pf.description], r.catalog == catalog else { return [] }
        return r.entries
    }

    /// Records `book` for `pf` (atomically: a temporary file renamed over the old one).
    public func save(pf: PCIAddress, book: GPUBook) throws(VirtualFunctionsError) {
        var f = try load()
        if book.entries.isEmpty {
            f.pfs[pf.description] = nil
        } else {
            f.pfs[pf.description] = PFRecord(catalog: book.catalog.name, entries: book.entries)
        }
        let url = root.url(Self.path)
        do {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            try FileManager.default.createDirectory(
                atPath: (url as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try enc.encode(f).write(to: URL(fileURLWithPath: url), options: .atomic)
        } catch {
            throw .failed(.stateFile, "cannot write \(url): \(error.localizedDescription)")
        }
    }
}
