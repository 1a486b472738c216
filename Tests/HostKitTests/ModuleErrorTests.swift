import Foundation
import Glibc
import HostKit
import SystemPackage
import TestSupport
import Testing

/// HostKit's errors carry a stable code, keep what failed underneath as a value, and a module
/// above wraps them without changing what the operator reads.
@Suite struct ModuleErrorTests {
    /// A stand-in for a module above HostKit (Passthrough has its own; this keeps the test in
    /// HostKit's target).
    enum AboveCode: String, ErrorCode {
        static var module: String { "above" }
        case binding
    }

    @Test func aRejectedKernelWriteKeepsItsErrnoUnderAHostKitCode() throws {
        let failure = KernelError(
            errno: .outOfRange, path: "sys/bus/pci/devices/0000:01:00.0/sriov_numvfs", value: "99")
        let error = failure.explained(device: nil)
        #expect(error.code == .vfCount)
        #expect(error.codeName == "hostkit.vfCount")
        #expect(error.status == .invalidInput)
        #expect(error.underlying as? KernelError == failure)
        let busy = KernelError(errno: .resourceBusy, path: "sys/bus/pci/drivers/nvidia/unbind", value: "0000:01:00.0")
        #expect(busy.explained(device: nil).code == .kernelWrite)
        #expect(busy.explained(device: nil).status == .refused)
    }

    @Test func aWrappedErrorKeepsTheStatusTheMessageAndTheChainDownToTheSystemCall() throws {
        // `run` is a file, so the lock under it cannot be opened: ENOTDIR, a HostKit error.
        let dir = TestSupport.tempDir("chain")
        try FileManager.default.createDirectory(atPath: dir + "/sys/bus/pci/devices", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: dir + "/run", contents: Data())
        let root = HostRoot(dir)
        let error = #expect(throws: ModuleError<AboveCode>.self) {
            try ModuleError<AboveCode>.wrapping(.binding) { _ = try HostLock(root: root, command: "t", wait: .zero) }
        }
        let e = try #require(error)
        #expect(e.code == .binding)
        #expect(e.codeName == "above.binding")
        let lock = try #require(e.underlying as? HostKitError)
        #expect(lock.code == .lock)
        #expect(e.status == lock.status)
        #expect(e.message == lock.message)
        let call = SystemCallError("open", errno: .notDirectory, path: root.url(HostLock.path))
        #expect(e.systemCall == call)
        #expect(ErrorChain.first(SystemCallError.self, in: e) == call)
        #expect(ErrorChain.links(e).count == 3)
        let lines = ErrorChain.lines(e)
        #expect(lines.first == "above.binding (exit 1): \(lock.message)")
        #expect(lines.contains("hostkit.lock (exit 1): \(lock.message)"))
        #expect(lines.last == call.description)
    }

    @Test func aWrappedErrorOfTheSameModuleIsRethrownAsItIs() {
        let error = #expect(throws: ModuleError<AboveCode>.self) {
            try ModuleError<AboveCode>.wrapping(.binding) {
                throw ModuleError<AboveCode>.refused(.binding, "in use")
            }
        }
        #expect(error?.underlying == nil)
        #expect(error?.status == .refused)
    }

    @Test func aMissingLinkAndDirectoryNameTheCallErrnoAndPath() throws {
        let root = try TestSupport.simHost("h100x8")
        let sysfs = SysfsReader(root: root)
        let link = #expect(throws: SystemCallError.self) { try sysfs.linkTarget("sys/none/driver") }
        #expect(link == SystemCallError("readlink", errno: .noSuchFileOrDirectory, path: root.url("sys/none/driver")))
        #expect(sysfs.link("sys/none/driver") == nil)
        let dir = #expect(throws: SystemCallError.self) { try sysfs.entries("sys/none") }
        #expect(dir == SystemCallError("opendir", errno: .noSuchFileOrDirectory, path: root.url("sys/none")))
        #expect(sysfs.list("sys/none") == [])
        #expect(try sysfs.entries(HostRoot.pciDevices) == sysfs.list(HostRoot.pciDevices))
        #expect(try !sysfs.entries(HostRoot.pciDevices).isEmpty)
    }

    @Test func aPointerCallInterruptedOnceIsMadeAgain() throws {
        var calls = 0
        let r = try systemCallReturningPointer("opendir", path: "/x") { () -> Int? in
            calls += 1
            if calls == 1 {
                errno = EINTR
                return nil
            }
            return 5
        }
        #expect(r == 5)
        #expect(calls == 2)
    }
}
