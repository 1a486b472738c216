import Foundation
import HostKit
import HostSim
import TestSupport
import Testing

/// `vgpuctl vf enable` on simulated hosts (HostKit's `VFController` behind it): input errors,
/// the kernel's refusals as sentences, and that a count change needs `--force`.
@Suite struct VFEnableTests {
    func vg(_ root: HostRoot, _ args: String...) throws -> TestSupport.Result {
        try TestSupport.vgpuctl(["--root", root.path] + args)
    }

    @Test func vfEnableInputErrors() throws {
        let root = try TestSupport.simHost("mixed")
        let before = TestSupport.fingerprint(root.path)
        let cases: [([String], Int32, String)] = [
            (["vf", "enable", "0000:03:00.0", "--count", "1"], 2, "no SR-IOV"),
            (["vf", "enable", "0000:7f:00.0", "--count", "1"], 2, "0000:7f:00.0"),
            (["vf", "enable", "0000:01:00.0", "--count", "x"], 2, "count"),
            (["vf", "enable", "0000:01:00.0", "--count", "-1"], 2, "count"),
            (["vf", "enable", "0000:01:00.0", "--count", "33"], 2, "0000:01:00.0 supports at most 32 VFs"),
            (["vf", "enable", "../../etc", "--count", "1"], 2, "'../../etc'"),
        ]
        for (args, code, words) in cases {
            let r = try TestSupport.vgpuctl(["--root", root.path] + args)
            #expect(r.status == code, "\(args): exit \(r.status), \(r.stderr)")
            #expect(r.stderr.contains(words), "\(args): \(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1, "\(args): \(r.stderr)")
        }
        #expect(TestSupport.fingerprint(root.path) == before)
    }

    @Test func pfWithoutASRIOVCapableDriverGetsTheENOENTSentence() throws {
        let root = try TestSupport.simHost("mixed")
        try SimulatedKernel(root: root).write("0000:02:00.0", to: .unbind(driver: "nvidia"))
        let r = try vg(root, "vf", "enable", "0000:02:00.0", "--count", "2")
        #expect(r.status == 1)
        #expect(r.stderr.contains("no driver is bound to 0000:02:00.0"), "\(r.stderr)")
        try SimulatedKernel(root: root).write("vfio-pci", to: .driverOverride(PCIAddress("0000:02:00.0")!))
        try SimulatedKernel(root: root).write("0000:02:00.0", to: .driversProbe)
        let r2 = try vg(root, "vf", "enable", "0000:02:00.0", "--count", "2")
        #expect(r2.stderr.contains("the driver bound to 0000:02:00.0 (vfio-pci) cannot enable SR-IOV"), "\(r2.stderr)")
        // The autoprobe write happened before the kernel refused; the VF count did not change.
        #expect(SysfsReader(root: root).device(PCIAddress("0000:02:00.0")!)?.sriov?.numVFs == 0)
    }

    @Test func changingTheCountNeedsForce() throws {
        let root = try TestSupport.simHost("h100x8")
        #expect(try vg(root, "vf", "enable", "0000:18:00.0", "--count", "4").status == 0)
        let r = try vg(root, "vf", "enable", "0000:18:00.0", "--count", "8")
        #expect(r.status == 4 && r.stderr.contains("--force"))
        let f = try vg(root, "vf", "enable", "0000:18:00.0", "--count", "8", "--force", "--json")
        #expect(f.status == 0, "\(f.stderr)")
        #expect(f.stdout.contains("\"changed\""))
        #expect(SysfsReader(root: root).device(PCIAddress("0000:18:00.0")!)?.sriov?.vfs.count == 8)
        // 32 VFs with offset 4, stride 1: the last is 0000:18:04.3 (as the A40 capture).
        #expect(try vg(root, "vf", "enable", "0000:18:00.0", "--count", "32", "--force").status == 0)
        #expect(
            SysfsReader(root: root).device(PCIAddress("0000:18:00.0")!)?.sriov?.vfs.last?.description == "0000:18:04.3")
    }
}
