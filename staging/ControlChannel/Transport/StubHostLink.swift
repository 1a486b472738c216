import Foundation
import GSPMessaging
import HostKit

/// How gsp-stub finds the simulated host it plays the firmware of (its vGPU firmware model is
/// kept there): `host.json` beside the shared file, written by whoever starts the stub for the
/// control channel; without it, the host root is the one the shared file lies under
/// (`<root>/run/vgpuctl/gsp/<BDF>/gspmem`, where `vgpuctl gsp boot` puts it).
///
/// A stub started for one vgpuctl process names it as `ownerPid`: the stub exits when that
/// process is gone, so a crashed vgpuctl leaves no stub behind.
public struct StubHostLink: Codable, Sendable, Equatable {
    public var hostRoot: String
    public var ownerPid: Int32?

    public static let fileName = "host.json"

    public init(hostRoot: String, ownerPid: Int32?) {
        self.hostRoot = hostRoot
        self.ownerPid = ownerPid
    }

    /// Writes the link into `directory` (the stub's run directory).
    public func write(into directory: String) throws(VGPUError) {
        let path = directory + "/" + Self.fileName
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try JSONEncoder().encode(self).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw .failed(.fileWrite, "cannot write \(path): \(error.localizedDescription)", underlying: error)
        }
    }

    /// The link for the stub serving `sharedFile` for `pf`: the file beside it, else derived
    /// from the path; nil when neither names a host.
    public static func find(sharedFile: String, pf: String) -> StubHostLink? {
        let dir = (sharedFile as NSString).deletingLastPathComponent
        if let data = FileManager.default.contents(atPath: dir + "/" + fileName),
            let link = try? JSONDecoder().decode(StubHostLink.self, from: data)
        {
            return link
        }
        let suffix = "/\(SimulatedGSP.directory)/\(pf)/\((sharedFile as NSString).lastPathComponent)"
        guard sharedFile.hasSuffix(suffix) else { return nil }
        let root = String(sharedFile.dropLast(suffix.count))
        return StubHostLink(hostRoot: root.isEmpty ? "/" : root, ownerPid: nil)
    }
}
