import Foundation
import Glibc
import HostKit

/// `flock(2)` on `<root>/.vgpuctl-sim.lock`: one simulated kernel write (or settle) at a time
/// per host, across processes. The kernel drops it when its holder dies.
struct SimKernelLock {
    let fd: Int32
    static let name = ".vgpuctl-sim.lock"

    init(root: HostRoot) throws {
        let path = root.url(Self.name)
        do throws(SystemCallError) {
            fd = try systemCall("open", path: path) { open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644) }
        } catch {
            throw SimHostError.failed(.kernelLock, "cannot open \(path): errno \(error.errno.rawValue)", error)
        }
        do throws(SystemCallError) {
            _ = try systemCall("flock", path: path) { [fd] in flock(fd, LOCK_EX) }
        } catch {
            close(fd)
            throw SimHostError.failed(.kernelLock, "cannot lock \(path): errno \(error.errno.rawValue)", error)
        }
    }

    func release() { close(fd) }
}
