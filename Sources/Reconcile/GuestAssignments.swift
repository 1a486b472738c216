import Foundation
import HostKit
import Passthrough

/// Which guest each VF is for, as the applied host config says (`types` per guest), in
/// `var/lib/vgpuctl/guests.json`. The libvirt hook reads it to know what a guest may use.
public struct GuestAssignments: Codable, Sendable, Equatable {
    public var format: Int = 1
    /// VF address -> guest name.
    public var vfs: [String: String] = [:]

    public static let file = HostRoot.stateDir + "/guests.json"
    /// The host config a host applies at boot (`contrib/systemd`), relative to the root.
    public static let defaultConfig = "etc/vgpuctl/host.yaml"

    public init(vfs: [String: String] = [:]) { self.vfs = vfs }

    public static func load(_ root: HostRoot) throws(ReconcileError) -> GuestAssignments {
        guard let data = FileManager.default.contents(atPath: root.url(file)) else { return GuestAssignments() }
        do { return try JSONDecoder().decode(GuestAssignments.self, from: data) } catch {
            throw .failed(
                .guestRecord, "\(root.url(file)) is damaged (\(error)); remove it and apply the host config again")
        }
    }

    public func save(_ root: HostRoot) throws(ReconcileError) {
        try ReconcileError.wrapping(.guestRecord) { try AtomicFile.writeJSON(self, to: root.url(Self.file)) }
    }

    /// The VFs assigned to `guest`.
    public func vfs(of guest: String) -> [PCIAddress] {
        vfs.filter { $0.value == guest }.compactMap { PCIAddress($0.key) }.sorted()
    }
}
