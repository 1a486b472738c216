import Foundation
import HostKit
import HostSim
import Passthrough
import SystemPackage
import TestSupport
import Testing

/// A failure below Passthrough reaches the operator with Passthrough's code, and everything
/// underneath it (HostKit's error, the kernel's errno and the control file) stays reachable.
@Suite struct PassthroughErrorTests {
    /// A mixed host whose nvidia driver lost its `unbind` file: binding the GPU to vfio-pci
    /// fails at the unbind with ENOENT, as open(2) of a missing control file would.
    func hostWithoutNvidiaUnbind() throws -> (HostRoot, PCIAddress) {
        let root = try TestSupport.simHost("mixed")
        try FileManager.default.removeItem(atPath: root.url("sys/bus/pci/drivers/nvidia/unbind"))
        return (root, try #require(PCIAddress("0000:03:00.0")))
    }

    @Test func aFailedUnbindKeepsPassthroughsCodeOverHostKitsAndTheErrno() throws {
        let (root, gpu) = try hostWithoutNvidiaUnbind()
        let manager = PassthroughManager(root: root, kernel: SimulatedKernel(root: root))
        let error = #expect(throws: PassthroughError.self) { try manager.assign(gpu, includeGroup: false) }
        let e = try #require(error)
        #expect(e.code == .bindFailed)
        #expect(e.codeName == "passthrough.bindFailed")
        #expect(e.status == .failed)
        let host = try #require(e.underlying as? HostKitError)
        #expect(host.code == .kernelWrite)
        let kernel = try #require(ErrorChain.first(KernelError.self, in: e))
        #expect(kernel.errno == .noSuchFileOrDirectory)
        #expect(kernel.path == "sys/bus/pci/drivers/nvidia/unbind")
        #expect(kernel.value == gpu.description)
        #expect(e.message.hasPrefix("sys/bus/pci/drivers/nvidia/unbind does not exist"), "\(e.message)")
    }

    @Test func anInUseRefusalIsPassthroughsWithHostKitsUnderneath() throws {
        let root = try TestSupport.simHost("mixed")
        let gpu = try #require(PCIAddress("0000:03:00.0"))
        // The A6000 as NVIDIA's driver shows it (minor 0, /dev/nvidia0), held open by a process.
        let fm = FileManager.default
        try fm.createDirectory(atPath: root.url("proc/driver/nvidia/gpus/\(gpu)"), withIntermediateDirectories: true)
        try "Model: \t\t NVIDIA RTX A6000\nBus Location: \t \(gpu)\nDevice Minor: \t 0\n"
            .write(toFile: root.url("proc/driver/nvidia/gpus/\(gpu)/information"), atomically: true, encoding: .utf8)
        try fm.createDirectory(atPath: root.url("dev"), withIntermediateDirectories: true)
        try "".write(toFile: root.url("dev/nvidia0"), atomically: true, encoding: .utf8)
        let job = try HostTrees.Holder(root: root, files: [root.url("dev/nvidia0")])
        defer { job.stop() }
        let manager = PassthroughManager(root: root, kernel: SimulatedKernel(root: root))
        let error = #expect(throws: PassthroughError.self) { try manager.assign(gpu, includeGroup: false) }
        let e = try #require(error)
        #expect(e.code == .inUse)
        #expect(e.status == .refused)
        let host = try #require(e.underlying as? HostKitError)
        #expect(host.code == .inUse)
        #expect(host.message == e.message)
        #expect(e.message.contains("pid \(job.pid) (sleep)"), "\(e.message)")
    }

    @Test func theCLIPrintsTheSameLineAndWithDebugTheCodeAndTheChain() throws {
        let (root, gpu) = try hostWithoutNvidiaUnbind()
        let plain = try TestSupport.vgpuctl(["--root", root.path, "passthrough", "assign", gpu.description])
        #expect(plain.status == 1)
        let lines = plain.stderr.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 2 && lines[1].isEmpty, "one line on stderr: \(plain.stderr)")
        #expect(
            plain.stderr.hasPrefix("vgpuctl: error: sys/bus/pci/drivers/nvidia/unbind does not exist"),
            "\(plain.stderr)")
        #expect(!plain.stderr.contains("debug"))

        let (root2, _) = try hostWithoutNvidiaUnbind()
        let debug = try TestSupport.vgpuctl(["--root", root2.path, "passthrough", "assign", gpu.description, "--debug"])
        #expect(debug.status == 1)
        let d = debug.stderr.split(separator: "\n").map(String.init)
        #expect(d.first == lines.first.map(String.init), "the error line is the same: \(debug.stderr)")
        #expect(d.count == 4, "\(debug.stderr)")
        guard d.count == 4 else { return }
        #expect(d[1].hasPrefix("vgpuctl: debug: passthrough.bindFailed (exit 1): sys/bus/pci/drivers/nvidia/unbind"))
        #expect(d[2].hasPrefix("vgpuctl: debug:   hostkit.kernelWrite (exit 1): "))
        #expect(
            d[3]
                == "vgpuctl: debug:     writing '\(gpu)' to sys/bus/pci/drivers/nvidia/unbind failed: \(Errno.noSuchFileOrDirectory) (errno \(ENOENT))"
        )

        let (root3, _) = try hostWithoutNvidiaUnbind()
        let env = try TestSupport.vgpuctl(
            ["--root", root3.path, "passthrough", "assign", gpu.description], environment: ["VGPUCTL_DEBUG": "1"])
        #expect(env.stderr.split(separator: "\n").map(String.init) == d)
    }
}
