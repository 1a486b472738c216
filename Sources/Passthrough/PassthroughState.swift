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
        let fd: Int32
        do throws(SystemCallError) {
            fd = try systemCall("open", path: tmp) { open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) }
        } catch {
            throw .failed("cannot create \(tmp): \(error.errno)", error)
        }
        // The errno of a failure is captured right after the failing call (close and unlink
        // below would overwrite it).
        var failure: SystemCallError?
        data.withUnsafeBytes { buf in
            guard let base = buf.baseAddress else { return }
            var off = 0
            while off < buf.count {
                do throws(SystemCallError) {
                    let n = try systemCall("write", path: tmp) { Glibc.write(fd, base + off, buf.count - off) }
                    // write(2) returns 0 only for a zero-length request; treat it as no space.
                    if n == 0 {
                        failure = SystemCallError("write", errno: .noSpace, path: tmp)
                        return
                    }
                    off += n
                } catch {
                    failure = error
                    return
                }
            }
        }
        if failure == nil {
            do throws(SystemCallError) { _ = try systemCall("fsync", path: tmp) { fsync(fd) } } catch {
                failure = error
            }
        }
        close(fd)
        if failure == nil {
            do throws(SystemCallError) { _ = try systemCall("rename", path: path) { rename(tmp, path) } } catch {
                failure = error
            }
        }
        if let failure {
            unlink(tmp)
            throw .failed("cannot write \(path): \(failure.errno)", failure)
        }
        if let dfd = try? systemCall("open", path: dir, { open(dir, O_RDONLY | O_DIRECTORY) }) {
            _ = retryingOnEINTR { fsync(dfd) }
            close(dfd)
        }
    }
}
