import Foundation
import HostKit
import HostSim
import Passthrough
import Reconcile
import SystemPackage
import TestSupport
import Testing

/// A failed step reaches the caller with Reconcile's code, and the whole chain underneath
/// (Passthrough's error, HostKit's, the kernel's errno and control file) stays reachable.
@Suite struct ReconcileErrorTests {
    @Test func aFailedPassthroughStepKeepsTheChainDownToTheKernel() throws {
        let root = try TestSupport.simHost("mixed")
        try FileManager.default.removeItem(atPath: root.url("sys/bus/pci/drivers/nvidia/unbind"))
        let gpu = try #require(PCIAddress("0000:03:00.0"))
        let executor = Executor(
            root: root, kernel: SimulatedKernel(root: root), backends: { _ in nil }, vfWaiter: { SysfsVFWaiter() })
        let error = #expect(throws: ReconcileError.self) { try executor.run(.assignPassthrough(gpu)) }
        let e = try #require(error)
        #expect(e.code == .stepFailed)
        #expect(e.codeName == "reconcile.stepFailed")
        let passthrough = try #require(e.underlying as? PassthroughError)
        #expect(passthrough.code == .bindFailed)
        #expect(e.message == passthrough.message)
        let kernel = try #require(ErrorChain.first(KernelError.self, in: e))
        #expect(kernel.errno == .noSuchFileOrDirectory)
        #expect(kernel.path == "sys/bus/pci/drivers/nvidia/unbind")
    }

    @Test func aMalformedConfigIsABadConfigWithItsPosition() {
        let error = #expect(throws: ReconcileError.self) {
            try HostConfigParser.parse("version: 1\nconfigs: [\n", file: "h.yaml")
        }
        #expect(error?.code == .badConfig)
        #expect(error?.status == .invalidInput)
        #expect(error?.message.hasPrefix("h.yaml:") == true, "\(error?.message ?? "")")
    }
}
