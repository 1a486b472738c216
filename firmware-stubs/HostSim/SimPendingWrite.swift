import Foundation
import Glibc
import HostKit
import SimGPU

/// The write a simulated kernel is carrying out, in `<root>/.vgpuctl-sim-pending.json`: written
/// (one rename) before the first effect runs and removed after the last. A record found under
/// the lock belongs to a writer that died; ``SimulatedKernel/settle()`` runs its effects again,
/// and since each is idempotent the write completes: a real kernel finishes a control-file
/// write whatever happens to the process that made it.
struct SimPendingWrite: Codable, Sendable {
    var format = 1
    var file: String
    var value: String
    var effects: [SimEffect]

    static let name = ".vgpuctl-sim-pending.json"

    func save(_ fs: SimFS) throws {
        // No fsync: the record must survive the writer's death, not the machine's.
        let data = try JSONEncoder().encode(self)
        let path = fs.abs(Self.name)
        let tmp = path + ".tmp"
        guard FileManager.default.createFile(atPath: tmp, contents: data) else {
            throw SimHostError.failed(.pendingWrite, "cannot write \(tmp)")
        }
        do throws(SystemCallError) { _ = try systemCall("rename", path: path) { rename(tmp, path) } } catch {
            throw SimHostError.failed(
                .pendingWrite, "cannot rename \(tmp) to \(path): errno \(error.errno.rawValue)", error)
        }
    }

    static func load(_ fs: SimFS) throws -> SimPendingWrite? {
        guard let data = FileManager.default.contents(atPath: fs.abs(name)) else { return nil }
        return try JSONDecoder().decode(SimPendingWrite.self, from: data)
    }

    static func remove(_ fs: SimFS) throws {
        try fs.remove(name)
    }
}

extension SimulatedKernel {
    /// Completes a write whose writer died (see ``SimPendingWrite``). Every vgpuctl command on a
    /// simulated root calls it before it reads the tree; every write calls it first.
    public func settle() throws {
        // The common case, nothing pending, takes no lock (and creates no file).
        guard fs.exists(SimPendingWrite.name) else { return }
        let lock = try SimKernelLock(root: root)
        defer { lock.release() }
        try settleLocked()
    }

    func settleLocked() throws {
        guard let p = try SimPendingWrite.load(fs) else { return }
        let state = try SimState.load(root)
        for e in p.effects { try run(e, state: state) }
        try SimPendingWrite.remove(fs)
    }
}
