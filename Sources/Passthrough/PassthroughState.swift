import Foundation
import HostKit
import SystemPackage

/// What vgpuctl has handed to VFIO, in `var/lib/vgpuctl/passthrough.json` under the root.
///
/// Written atomically (temp file, fsync, rename) before the binding changes, so a crash
/// mid-assign still leaves the previous drivers on record.
public struct PassthroughState: Codable, Sendable, Equatable {
    public var format: Int = 1
    /// One entry per device vgpuctl rebound, keyed by address.
    public var devices: [String: Record] = [:]

    public struct Record: Codable, Sendable, Equatable {
        /// The device the operator asked for (itself, or the GPU a companion belongs to).
        public var assignedWith: String
        /// The driver bound before vgpuctl changed it (nil: unbound).
        public var previousDriver: String?
        /// The VFIO driver vgpuctl bound.
        public var vfioDriver: String
        public var iommuGroup: Int?
        /// When it was assigned (ISO 8601).
        public var since: String
        /// Why it was bound: `requested`, `companion`, `group` (with --include-group).
        public var reason: String
    }

    public static let file = HostRoot.stateDir + "/passthrough.json"

    public static func load(_ root: HostRoot) throws(PassthroughError) -> PassthroughState {
        let path = root.url(file)
        guard let data = FileManager.default.contents(atPath: path) else { return PassthroughState() }
        do { return try JSONDecoder().decode(PassthroughState.self, from: data) } catch {
            throw .failed(
                .stateFile, "\(path) is damaged (\(error)); fix or remove it (it records the drivers to restore)")
        }
    }

    public func save(_ root: HostRoot) throws(PassthroughError) {
        try PassthroughError.wrapping(.stateFile) { try AtomicFile.writeJSON(self, to: root.url(Self.file)) }
    }

    /// The records that were assigned together with `address`.
    public func group(of address: PCIAddress) -> [(PCIAddress, Record)] {
        guard let rec = devices[address.description] else { return [] }
        return devices.filter { $0.value.assignedWith == rec.assignedWith }
            .compactMap { k, v in PCIAddress(k).map { ($0, v) } }.sorted { $0.0 < $1.0 }
    }
}
