import Foundation
import HostKit
import TestSupport
import Testing

/// What a plan reads of the PCI functions (`SysfsReader.functions()`: VFs only in part) is what
/// reading every device whole says of them.
@Suite struct PlanReadTests {
    func vg(_ root: HostRoot, _ args: [String]) throws -> TestSupport.Result {
        try TestSupport.vgpuctl(["--root", root.path] + args)
    }

    func write(_ text: String) throws -> String {
        let path = TestSupport.tempDir("cfg") + "/host.yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Every function: those that are not VFs read whole and equal, each VF's PF, driver, IOMMU
    /// group and listing equal, and no function missing or in both.
    func expectSameAsWhole(_ root: HostRoot, vfsAtLeast: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        let sysfs = SysfsReader(root: root)
        let whole = sysfs.allDevices()
        let part = sysfs.functions()
        #expect(part.devices == whole.filter { $0.physfn == nil }, sourceLocation: sourceLocation)
        #expect(part.devices.map(\.entries) == whole.filter { $0.physfn == nil }.map(\.entries))
        let vfs = whole.filter { $0.physfn != nil }
        #expect(Set(part.vfs.keys) == Set(vfs.map(\.address)), sourceLocation: sourceLocation)
        #expect(vfs.count >= vfsAtLeast, "\(vfs.count) VFs", sourceLocation: sourceLocation)
        for d in vfs {
            guard let pf = d.physfn else { continue }
            let want = PCIFunctions.VF(
                address: d.address, physfn: pf, driver: d.driver, iommuGroup: d.iommuGroup, entries: d.entries)
            #expect(part.vfs[d.address] == want, "\(d.address)", sourceLocation: sourceLocation)
        }
    }

    @Test func aMixedHostWithVFsOnTwoKindsOfDevice() throws {
        let root = try TestSupport.simHost("mixed")
        let apply = try vg(root, ["apply", "-f", try write(ApplyTests.mixedConfig)])
        #expect(apply.status == 0, "\(apply.stderr)")
        expectSameAsWhole(root, vfsAtLeast: 6)
    }

    @Test func anH100HostWithVFsOnEveryGPU() throws {
        let root = try TestSupport.simHost("h100x8")
        let cfg = try write(
            "version: 1\nconfigs:\n  default:\n    - select: all\n      mode: vgpu\n      vfs: 3\n      vfioHandoff: true\n"
        )
        let apply = try vg(root, ["apply", "-f", cfg])
        #expect(apply.status == 0, "\(apply.stderr)")
        expectSameAsWhole(root, vfsAtLeast: 24)
    }

    @Test func theRealH200Capture() throws {
        expectSameAsWhole(try HostTrees.h200Copy(), vfsAtLeast: 0)
    }

    /// A rule that names a VF by its address is refused as before, at the value's line.
    @Test func aRuleThatSelectsAVFIsRefused() throws {
        let root = try TestSupport.simHost("mixed")
        #expect(try vg(root, ["apply", "-f", try write(ApplyTests.mixedConfig)]).status == 0)
        let cfg = try write(
            "version: 1\nconfigs:\n  default:\n    - select: {address: \"0000:01:00.5\"}\n      mode: host\n")
        let plan = try vg(root, ["plan", "-f", cfg])
        #expect(plan.status == 2, "\(plan.stdout)\(plan.stderr)")
        #expect(
            plan.stderr.contains("host.yaml:4:")
                && plan.stderr.contains("0000:01:00.5 is a VF; a rule selects a whole device"), "\(plan.stderr)")
    }
}
