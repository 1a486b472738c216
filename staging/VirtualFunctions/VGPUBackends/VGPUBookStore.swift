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

    public func load() throws(VGPUError) -> File {
        let url = root.url(Self.path)
        guard let data = FileManager.default.contents(atPath: url) else { return File() }
        do { return try JSONDecoder().decode(File.self, from: data) } catch {
            throw .failed(
                "\(url) is damaged (\(error)); move it aside and run the command again (vgpuctl rebuilds it from what the driver reports)"
            )
        }
    }

    /// The recorded entries of `pf` for `catalog` (none when recorded for another catalog).
    public func entries(pf: PCIAddress, catalog: String) throws(VGPUError) -> [GPUBook.Entry] {
        guard let r = try load().pfs[pf.description], r.catalog == catalog else { return [] }
        return r.entries
    }

    /// Records `book` for `pf` (atomically: a temporary file renamed over the old one).
    public func save(pf: PCIAddress, book: GPUBook) throws(VGPUError) {
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
            throw .failed("cannot write \(url): \(error.localizedDescription)")
        }
    }
}
