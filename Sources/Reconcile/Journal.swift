import Foundation
import HostKit
import Passthrough
import SystemPackage

/// The write-ahead journal of an apply, in `var/lib/vgpuctl/journal.json`.
///
/// Before each step the intent (`next` = that step) is written (temp file, fsync, rename). A
/// journal that exists when no vgpuctl holds the host lock belongs to an apply that died; the
/// next mutating command (or `vgpuctl recover`) rolls it forward from the step in progress:
/// every step is idempotent, so redoing a step that had half happened completes it.
public struct Journal: Codable, Sendable, Equatable {
    public var format: Int = 1
    public var id: String
    public var pid: Int32
    public var command: String
    public var started: String
    public var configFile: String
    public var configName: String
    public var steps: [Action]
    /// The step in progress (or next to do).
    public var next: Int
    /// VF -> guest to record when the steps are done.
    public var guests: [String: String]

    public static let file = HostRoot.stateDir + "/journal.json"

    public static func load(_ root: HostRoot) throws(ReconcileError) -> Journal? {
        guard let data = FileManager.default.contents(atPath: root.url(file)) else { return nil }
        do { return try JSONDecoder().decode(Journal.self, from: data) } catch {
            throw .failed(
                .journal,
                "\(root.url(file)) is damaged (\(error)); an apply was interrupted and its journal cannot be read: check the host with 'vgpuctl assert', then remove the file"
            )
        }
    }

    public func save(_ root: HostRoot) throws(ReconcileError) {
        try ReconcileError.wrapping(.journal) { try AtomicFile.writeJSON(self, to: root.url(Self.file)) }
    }

    public static func remove(_ root: HostRoot) throws(ReconcileError) {
        let path = root.url(file)
        do throws(SystemCallError) { _ = try systemCall("unlink", path: path) { unlink(path) } } catch {
            if error.errno == .noSuchFileOrDirectory { return }
            throw .failed(.journal, "cannot remove the journal \(path): \(error.errno)", error)
        }
    }
}
