import Foundation
import Glibc

/// Atomic file replacement: write a temporary file beside the target, fsync it, rename it over
/// the target, fsync the directory. The one atomic writer of the package (vgpuctl's state
/// files, the libvirt hook's record, the simulator's state).
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
            while off < buf.count, let base = buf.baseAddress {
                let n = Glibc.write(fd, base + off, buf.count - off)
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
