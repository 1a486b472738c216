import Foundation
import HostKit

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

    public static func load(_ root: HostRoot) throws(VGPUError) -> PassthroughState {
        let path = root.url(file)
        guard let data = FileManager.default.contents(atPath: path) else { return PassthroughState() }
        do { return try JSONDecoder().decode(PassthroughState.self, from: data) } catch {
            throw .failed("\(path) is damaged (\(error)); fix or remove it (it records the drivers to restore)")
        }
    }

    public func save(_ root: HostRoot) throws(VGPUError) {
        try AtomicFile.writeJSON(self, to: root.url(Self.file))
    }

    /// The records that were assigned together with `address`.
    public func group(of address: PCIAddress) -> [(PCIAddress, Record)] {
        guard let rec = devices[address.description] else { return [] }
        return devices.filter { $0.value.assignedWith == rec.assignedWith }
            .compactMap { k, v in PCIAddress(k).map { ($0, v) } }.sorted { $0.0 < $1.0 }
    }
}

/// Atomic file replacement: write a temporary file beside the target, fsync it, rename it over
/// the target, fsync the directory.
public enum AtomicFile {
    /// Writes `value` as pretty, key-sorted JSON, atomically.
    public static func writeJSON<T: Encodable>(_ value: T, to path: String) throws(VGPUError) {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data: Data
        do { data = try enc.encode(value) } catch { throw .failed("cannot encode \(path): \(error)") }
        try write(data, to: path)
    }

    public static func write(_ data: Data, to path: String) throws(VGPUError) {
        let dir = (path as NSString).deletingLastPathComponent
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw .failed("cannot create \(dir): \(error.localizedDescription)")
        }
        let tmp = path + ".tmp.\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .failed("cannot create \(tmp): \(String(cString: strerror(errno)))") }
        let ok = data.withUnsafeBytes { buf -> Bool in
            var off = 0
            while off < buf.count {
                let n = Glibc.write(fd, buf.baseAddress! + off, buf.count - off)
                if n <= 0 { return false }
                off += n
            }
            return fsync(fd) == 0
        }
        close(fd)
        guard ok, rename(tmp, path) == 0 else {
            let e = String(cString: strerror(errno))
            unlink(tmp)
            throw .failed("cannot write \(path): \(e)")
        }
        let dfd = open(dir, O_RDONLY | O_DIRECTORY)
        if dfd >= 0 {
            fsync(dfd)
            close(dfd)
        }
    }
}
