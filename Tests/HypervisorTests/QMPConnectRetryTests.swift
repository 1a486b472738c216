import Foundation
import Glibc
import HostKit
import Hypervisor
import TestSupport
import Testing

/// QEMU binds its QMP socket a moment before it listens; vgpuctl retries a refused connect
/// within its deadline, and reports a socket nothing listens on once the deadline passes.
@Suite struct QMPConnectRetryTests {
    /// A unix socket bound at a fresh path, not listening yet.
    func boundSocket() throws -> (fd: Int32, path: String) {
        let path = TestSupport.tempDir("qmpretry") + "/s"
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (k, b) in path.utf8.enumerated() { raw[k] = b } }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        try #require(rc == 0, "bind: \(errno)")
        return (fd, path)
    }

    @Test func aSocketThatStartsListeningLaterIsConnected() throws {
        let (fd, path) = try boundSocket()
        defer { close(fd) }
        // Refused now (bound, not listening): the premise of the retry.
        #expect(throws: HypervisorError.self) { try UnixSocketTransport(path: path, connectDeadline: .zero) }
        let listening = DispatchSemaphore(value: 0)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) {
            listen(fd, 1)
            listening.signal()
        }
        let t = try UnixSocketTransport(path: path, connectDeadline: .seconds(30))
        t.close()
        listening.wait()
    }

    @Test func aSocketNobodyListensOnFailsAfterTheDeadline() throws {
        let (fd, path) = try boundSocket()
        defer { close(fd) }
        let start = ContinuousClock.now
        #expect {
            try UnixSocketTransport(path: path, connectDeadline: .milliseconds(400))
        } throws: { e in
            let v = e as? HypervisorError
            return v?.status == .failed
                && (v?.message.contains("nothing listens on \(path) (connection refused for 0.4 seconds)") ?? false)
        }
        #expect(ContinuousClock.now - start >= .milliseconds(400))
    }
}
