import Foundation
import HostKit

/// File operations on a simulated host tree, all relative to its root.
package struct SimFS {
    package let root: HostRoot

    package init(root: HostRoot) { self.root = root }
    package var fm: FileManager { .default }

    package func abs(_ rel: String) -> String { root.url(rel) }

    package func mkdir(_ rel: String) throws {
        try fm.createDirectory(atPath: abs(rel), withIntermediateDirectories: true)
    }

    /// Writes `text` to `rel`, creating parent directories.
    package func write(_ rel: String, _ text: String) throws {
        try write(rel, Data(text.utf8))
    }

    package func write(_ rel: String, _ data: Data) throws {
        let path = abs(rel)
        try fm.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        guard fm.createFile(atPath: path, contents: data) else {
            throw SimGPUError.failed(.treeWrite, "cannot write \(path)")
        }
    }

    package func read(_ rel: String) -> String? {
        fm.contents(atPath: abs(rel)).map { String(decoding: $0, as: UTF8.self) }
    }

    package func exists(_ rel: String) -> Bool { fm.fileExists(atPath: abs(rel)) }

    package func isLink(_ rel: String) -> Bool { (try? fm.destinationOfSymbolicLink(atPath: abs(rel))) != nil }

    /// Creates a relative symlink at `rel` pointing to `target` (both root-relative), as sysfs
    /// does (`../../../devices/...`). Replaces an existing link.
    package func link(_ rel: String, to target: String) throws {
        let path = abs(rel)
        if isLink(rel) || exists(rel) { try fm.removeItem(atPath: path) }
        try fm.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try fm.createSymbolicLink(
            atPath: path,
            withDestinationPath: Self.relativePath(from: (rel as NSString).deletingLastPathComponent, to: target))
    }

    package func remove(_ rel: String) throws {
        if isLink(rel) || exists(rel) { try fm.removeItem(atPath: abs(rel)) }
    }

    package func list(_ rel: String) -> [String] { ((try? fm.contentsOfDirectory(atPath: abs(rel))) ?? []).sorted() }

    /// The relative path from directory `from` to `to` (both root-relative).
    package static func relativePath(from: String, to: String) -> String {
        let a = from.split(separator: "/").map(String.init)
        let b = to.split(separator: "/").map(String.init)
        var i = 0
        while i < a.count, i < b.count, a[i] == b[i] { i += 1 }
        let ups = Array(repeating: "..", count: a.count - i)
        let parts = ups + b[i...]
        return parts.isEmpty ? "." : parts.joined(separator: "/")
    }
}
