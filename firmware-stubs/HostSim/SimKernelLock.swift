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
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw VGPUError.failed("cannot open \(path): errno \(errno)") }
        while flock(fd, LOCK_EX) != 0 {
            if errno == EINTR { continue }
            close(fd)
            throw VGPUError.failed("cannot lock \(path): errno \(errno)")
        }
    }

    func release() { close(fd) }
}
