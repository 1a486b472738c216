import Foundation
import Glibc

/// Atomic file replacement: write a temporary file beside the target, fsync it, rename it over
/// the target, fsync the directory. The one atomic writer of the package (vgpuctl's state
/// files, the libvirt hook's record, the simulator's state). A failed call keeps its errno and
/// path (``SystemCallError``, the error's underlying value); EINTR is retried.
public enum AtomicFile {
    /// Writes `value` as pretty, key-sorted JSON, atomically.
    public static func writeJSON<T: Encodable>(_ value: T, to path: String) throws(VGPUError) {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data: Data
        do { data = try enc.encode(value) } catch { throw .failed(.fileWrite, "cannot encode \(path): \(error)") }
        try write(data, to: path)
    }

    public static func write(_ data: Data, to path: String) throws(VGPUError) {
        let dir = (path as NSString).deletingLastPathComponent
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw .failed(.fileWrite, "cannot create \(dir): \(error.localizedDescription)")
        }
        let tmp = path + ".tmp.\(getpid())"
        let fd: Int32
        do throws(SystemCallError) {
            fd = try systemCall("open", path: tmp) { open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) }
        } catch {
            throw .failed(.fileWrite, "cannot create \(tmp): \(error.errno)", error)
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
            throw .failed(.fileWrite, "cannot write \(path): \(failure.errno)", failure)
        }
        if let dfd = try? systemCall("open", path: dir, { open(dir, O_RDONLY | O_DIRECTORY) }) {
            _ = retryingOnEINTR { fsync(dfd) }
            close(dfd)
        }
    }
}
