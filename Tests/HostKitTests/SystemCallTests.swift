import Foundation
import Glibc
import HostKit
import SystemPackage
import TestSupport
import Testing

/// Failed system calls keep the call, the errno and the path as values, and calls interrupted
/// by a signal are made again.
@Suite struct SystemCallTests {
    @Test func readingAMissingSysfsFileNamesOpenENOENTAndThePath() throws {
        let root = try TestSupport.simHost("h100x8")
        let relative = HostRoot.deviceFile(try #require(PCIAddress("0000:ff:1f.7")), "sriov_numvfs")
        let error = #expect(throws: SystemCallError.self) { try SysfsReader(root: root).contents(relative) }
        #expect(error?.call == "open")
        #expect(error?.errno == .noSuchFileOrDirectory)
        #expect(error?.path == root.url(relative))
        #expect(SysfsReader(root: root).bytes(relative) == nil)
    }

    @Test func anExistingSysfsFileIsRead() throws {
        let root = try TestSupport.simHost("h100x8")
        let pf = try #require(SysfsReader(root: root).pciAddresses().first)
        let vendor = try SysfsReader(root: root).contents(HostRoot.deviceFile(pf, "vendor"))
        #expect(String(decoding: vendor, as: UTF8.self).hasPrefix("0x"))
    }

    @Test func theHostLockKeepsTheErrnoOfItsFailedOpen() throws {
        // `run` is a file, so the lock file under it cannot be opened: ENOTDIR.
        let dir = TestSupport.tempDir("lock-errno")
        try FileManager.default.createDirectory(atPath: dir + "/sys/bus/pci/devices", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: dir + "/run", contents: Data())
        let root = HostRoot(dir)
        let error = #expect(throws: VGPUError.self) { _ = try HostLock(root: root, command: "test", wait: .zero) }
        #expect(error?.status == .failed)
        #expect(error?.message.contains(root.url(HostLock.path)) == true)
        #expect(error?.systemCall == SystemCallError("open", errno: .notDirectory, path: root.url(HostLock.path)))
    }

    @Test func aCallInterruptedOnceIsMadeAgain() throws {
        var calls = 0
        let r = try systemCall("read") { () -> Int in
            calls += 1
            if calls == 1 {
                errno = EINTR
                return -1
            }
            return 7
        }
        #expect(r == 7)
        #expect(calls == 2)
    }

    @Test func anotherErrnoIsThrownAtOnceWithTheCallAndPath() {
        var calls = 0
        let error = #expect(throws: SystemCallError.self) {
            try systemCall("open", path: "/x") { () -> Int32 in
                calls += 1
                errno = EBADF
                return -1
            }
        }
        #expect(calls == 1)
        #expect(error == SystemCallError("open", errno: .badFileDescriptor, path: "/x"))
        #expect(error?.description == "open(/x): \(Errno.badFileDescriptor) (errno \(EBADF))")
    }

    @Test func retryingOnEINTRLeavesOtherFailuresToTheCaller() {
        var calls = 0
        let r = retryingOnEINTR { () -> Int32 in
            calls += 1
            errno = calls == 1 ? EINTR : EAGAIN
            return -1
        }
        #expect(r == -1)
        #expect(calls == 2)
        #expect(errno == EAGAIN)
    }

    @Test func callsReturningAnErrnoRetryEINTRToo() {
        var results: [Int32] = [EINTR, EINTR, 0]
        #expect(throws: Never.self) {
            try systemCallReturningErrno("posix_spawn") { results.removeFirst() }
        }
        #expect(results.isEmpty)
        var failing: [Int32] = [ENOENT]
        let error = #expect(throws: SystemCallError.self) {
            try systemCallReturningErrno("posix_spawn", path: "/bin/none") { failing.removeFirst() }
        }
        #expect(error?.errno == .noSuchFileOrDirectory)
    }
}
