import Foundation
import HostKit
import HostSim
import Hypervisor
import Passthrough
import TestSupport
import Testing

/// The simulated kernel, except that unbinding from vfio-pci fails (EIO) while `failing` is set:
/// a release that cannot complete.
final class UnbindFailingKernel: Kernel, @unchecked Sendable {
    let inner: SimulatedKernel
    var failing = true
    init(root: HostRoot) { inner = SimulatedKernel(root: root) }
    func write(_ value: String, to file: ControlFile) throws(KernelError) {
        if failing, case .unbind(let driver) = file, driver == "vfio-pci" {
            throw KernelError(errno: .ioError, path: file.path, value: value)
        }
        try inner.write(value, to: file)
    }
}

/// The hook's rollback of a failed `prepare begin`.
@Suite struct LibvirtHookRollbackTests {
    /// A prepare that assigned a GPU and then failed must give it back; when giving it back also
    /// fails, the GPU stays in the guest's record (so `release end` can finish) and the error
    /// says so. Before the fix the record was dropped and nothing would ever release the GPU.
    @Test func aDeviceThatCannotBeGivenBackStaysRecorded() throws {
        let root = try TestSupport.simHost("mixed")
        let gpu = try #require(PCIAddress("0000:03:00.0"))
        let missing = try #require(PCIAddress("0000:7f:00.4"))  // a host-config VF not created yet
        let kernel = UnbindFailingKernel(root: root)
        let hook = LibvirtHook(root: root, kernel: kernel, guestVFs: [missing: "vm1"])
        let domain = try DomainXML.parse(LibvirtHookTests.domain("vm1", [gpu.description, missing.description]))
        let managed = try hook.managed(in: domain)
        #expect(managed.map(\.address) == [gpu, missing])

        var message = ""
        do { _ = try hook.prepare(guest: "vm1", devices: managed) } catch { message = error.message }
        #expect(message.contains("\(missing) in the domain XML of 'vm1' does not exist"), "\(message)")
        #expect(message.contains("giving back what this call assigned also failed for \(gpu)"), "\(message)")
        #expect(HV.driver(root, gpu.description) == "vfio-pci")
        let data = try #require(
            FileManager.default.contents(atPath: root.url(LibvirtHook.recordFile("vm1"))),
            "the guest's record was dropped")
        let record = try #require(JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(record["assigned"] as? [String] == [gpu.description])
        #expect(try PassthroughState.load(root).devices[gpu.description] != nil)

        // Once the kernel lets go, 'release end' gives the GPU back and forgets the guest.
        kernel.failing = false
        let out = try hook.release(guest: "vm1")
        #expect(out.released == [gpu.description])
        #expect(HV.driver(root, gpu.description) == "nvidia")
        #expect(!FileManager.default.fileExists(atPath: root.url(LibvirtHook.recordFile("vm1"))))
    }

    /// When giving back succeeds, nothing of the failed prepare is left.
    @Test func aFailedPrepareLeavesTheHostAsItWas() throws {
        let root = try TestSupport.simHost("mixed")
        let before = LibvirtHookTests.devices(root)
        let missing = try #require(PCIAddress("0000:7f:00.4"))
        let hook = LibvirtHook(root: root, kernel: SimulatedKernel(root: root), guestVFs: [missing: "vm1"])
        let managed = try hook.managed(
            in: try DomainXML.parse(LibvirtHookTests.domain("vm1", ["0000:03:00.0", missing.description])))
        #expect(throws: HypervisorError.self) { try hook.prepare(guest: "vm1", devices: managed) }
        #expect(LibvirtHookTests.devices(root) == before)
        #expect(!FileManager.default.fileExists(atPath: root.url(LibvirtHook.recordFile("vm1"))))
    }
}
