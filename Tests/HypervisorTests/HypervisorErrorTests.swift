import Foundation
import HostKit
import HostSim
import Hypervisor
import Passthrough
import SystemPackage
import TestSupport
import Testing

/// The simulated kernel, except that every unbind from `driver` fails with EIO.
final class UnbindFromFailingKernel: Kernel, @unchecked Sendable {
    let inner: SimulatedKernel
    let driver: String
    init(root: HostRoot, driver: String) {
        inner = SimulatedKernel(root: root)
        self.driver = driver
    }
    func write(_ value: String, to file: ControlFile) throws(KernelError) {
        if case .unbind(let d) = file, d == driver { throw KernelError(errno: .ioError, path: file.path, value: value) }
        try inner.write(value, to: file)
    }
}

/// A failure below Hypervisor reaches the caller with Hypervisor's code and the whole chain
/// underneath: Passthrough's error, HostKit's, the kernel's errno and control file.
@Suite struct HypervisorErrorTests {
    @Test func theHookKeepsPassthroughsFailureAndTheErrnoUnderItsOwnCode() throws {
        let root = try TestSupport.simHost("mixed")
        let gpu = try #require(PCIAddress("0000:03:00.0"))
        let hook = LibvirtHook(root: root, kernel: UnbindFromFailingKernel(root: root, driver: "nvidia"), guestVFs: [:])
        let domain = try DomainXML.parse(LibvirtHookTests.domain("vm1", [gpu.description]))
        let managed = try hook.managed(in: domain)
        let error = #expect(throws: HypervisorError.self) { try hook.prepare(guest: "vm1", devices: managed) }
        let e = try #require(error)
        #expect(e.code == .assignFailed)
        #expect(e.codeName == "hypervisor.assignFailed")
        #expect(e.status == .failed)
        let passthrough = try #require(e.underlying as? PassthroughError)
        #expect(passthrough.code == .bindFailed)
        #expect((passthrough.underlying as? HostKitError)?.code == .kernelWrite)
        let kernel = try #require(ErrorChain.first(KernelError.self, in: e))
        #expect(
            kernel == KernelError(errno: .ioError, path: "sys/bus/pci/drivers/nvidia/unbind", value: gpu.description))
        #expect(e.message.contains("sys/bus/pci/drivers/nvidia/unbind"), "\(e.message)")
        #expect(SysfsReader(root: root).device(gpu)?.driver == "nvidia", "the failed prepare changed nothing")
    }

    @Test func aMissingSocketKeepsTheSystemCallUnderTheQMPSocketCode() throws {
        let path = TestSupport.tempDir("qmp-err") + "/none.sock"
        let error = #expect(throws: HypervisorError.self) {
            try UnixSocketTransport(path: path, connectDeadline: .zero)
        }
        #expect(error?.code == .qmpSocket)
        #expect(error?.status == .invalidInput)
        #expect(error?.message.contains(path) == true)
        #expect(error?.systemCall == SystemCallError("stat", errno: .noSuchFileOrDirectory, path: path))
    }
}
