import Foundation
import HostKit
import HostSim
import Passthrough
import TestSupport
import Testing

/// Passthrough and VF commands on simulated hosts, through the CLI: exit codes, messages, and
/// that refusals leave the host exactly as it was.
@Suite struct PassthroughTests {
    func vg(_ root: HostRoot, _ args: String...) throws -> TestSupport.Result {
        try TestSupport.vgpuctl(["--root", root.path] + args)
    }

    func driver(_ root: HostRoot, _ a: String) -> String? { SysfsReader(root: root).device(PCIAddress(a)!)?.driver }

    /// Makes a fake process under the root's `proc` hold `file` open.
    func holdOpen(_ root: HostRoot, pid: Int, comm: String, file: String) throws {
        let dir = root.url("proc/\(pid)/fd")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try (comm + "\n").write(toFile: root.url("proc/\(pid)/comm"), atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: dir + "/7", withDestinationPath: file)
    }

    @Test func companionAudioFunctionIsBoundAndRestoredExactly() throws {
        let root = try TestSupport.simHost("mixed")
        let r = try vg(root, "passthrough", "assign", "0000:03:00.0", "--json")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(driver(root, "0000:03:00.0") == "vfio-pci")
        #expect(driver(root, "0000:03:00.1") == "vfio-pci")
        #expect(SysfsReader(root: root).exists("dev/vfio/12"))
        let state = try PassthroughState.load(root)
        #expect(state.devices["0000:03:00.1"]?.previousDriver == "snd_hda_intel")
        #expect(state.devices["0000:03:00.1"]?.reason == "companion")
        // Releasing the companion releases the whole assignment.
        let rel = try vg(root, "passthrough", "release", "0000:03:00.0")
        #expect(rel.status == 0, "\(rel.stderr)")
        #expect(driver(root, "0000:03:00.0") == "nvidia")
        #expect(driver(root, "0000:03:00.1") == "snd_hda_intel")
        let s = SysfsReader(root: root)
        #expect(s.text("sys/bus/pci/devices/0000:03:00.0/driver_override") == "(null)\n")
        #expect(s.text("sys/bus/pci/devices/0000:03:00.1/driver_override") == "(null)\n")
        #expect(!s.exists("dev/vfio/12"))
        #expect(try PassthroughState.load(root).devices.isEmpty)
    }

    /// Moves the NIC into the A6000's IOMMU group (as a non-ACS topology would).
    func nicInGPUGroup(_ root: HostRoot) throws {
        let fm = FileManager.default
        let nicDir = try #require(SysfsReader(root: root).device(PCIAddress("0000:04:00.0")!)?.canonicalPath)
        try fm.removeItem(atPath: root.url("sys/kernel/iommu_groups/13"))
        try fm.removeItem(atPath: root.url(nicDir + "/iommu_group"))
        try fm.createSymbolicLink(
            atPath: root.url(nicDir + "/iommu_group"), withDestinationPath: root.url("sys/kernel/iommu_groups/12"))
        try fm.createSymbolicLink(
            atPath: root.url("sys/kernel/iommu_groups/12/devices/0000:04:00.0"), withDestinationPath: root.url(nicDir))
    }

    @Test func anotherBoundDeviceInTheGroupRefusesUnlessIncluded() throws {
        let root = try TestSupport.simHost("mixed")
        try nicInGPUGroup(root)
        let before = TestSupport.fingerprint(root.path)
        let r = try vg(root, "passthrough", "assign", "0000:03:00.0")
        #expect(r.status == 4)
        #expect(
            r.stderr.contains("0000:04:00.0") && r.stderr.contains("ixgbe") && r.stderr.contains("--include-group"),
            "\(r.stderr)")
        #expect(TestSupport.fingerprint(root.path) == before, "a refusal changed the host")
        let ok = try vg(root, "passthrough", "assign", "0000:03:00.0", "--include-group")
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(driver(root, "0000:04:00.0") == "vfio-pci")
        _ = try vg(root, "passthrough", "release", "0000:03:00.0")
        #expect(driver(root, "0000:04:00.0") == "ixgbe")
        #expect(driver(root, "0000:03:00.1") == "snd_hda_intel")
    }

    @Test func graceGPUGoesToNvgraceThroughDriverOverrideAndComesBack() throws {
        let root = try TestSupport.simHost("gh200x4")
        let r = try vg(root, "passthrough", "assign", "0019:01:00.0")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("nvgrace_gpu_vfio_pci"))
        #expect(driver(root, "0019:01:00.0") == "nvgrace_gpu_vfio_pci")
        #expect(
            SysfsReader(root: root).text("sys/bus/pci/devices/0019:01:00.0/driver_override") == "nvgrace_gpu_vfio_pci\n"
        )
        #expect(driver(root, "0019:00:00.0") == "pcieport", "the root port (a bridge) is left alone")
        #expect(try vg(root, "passthrough", "release", "0019:01:00.0").status == 0)
        #expect(driver(root, "0019:01:00.0") == "nvidia")
    }

    @Test func missingVFIODriverNamesTheModuleAndChangesNothing() throws {
        let root = try TestSupport.simHost("gh200x4")
        try FileManager.default.removeItem(atPath: root.url("sys/bus/pci/drivers/nvgrace_gpu_vfio_pci"))
        let before = TestSupport.fingerprint(root.path)
        let r = try vg(root, "passthrough", "assign", "0009:01:00.0")
        #expect(r.status == 1)
        #expect(r.stderr.contains("modprobe nvgrace-gpu-vfio-pci"), "\(r.stderr)")
        #expect(TestSupport.fingerprint(root.path) == before)
    }

    @Test func releaseIsRefusedWhileAProcessHoldsTheGroup() throws {
        let root = try TestSupport.simHost("mixed")
        #expect(try vg(root, "vf", "enable", "0000:01:00.0", "--count", "2").status == 0)
        #expect(try vg(root, "passthrough", "assign", "0000:01:00.5").status == 0)
        let group = try #require(SysfsReader(root: root).device(PCIAddress("0000:01:00.5")!)?.iommuGroup)
        try holdOpen(root, pid: 4242, comm: "qemu-system-x86", file: "/dev/vfio/\(group)")
        let listed = try vg(root, "passthrough", "list")
        #expect(listed.stdout.contains("4242 (qemu-system-x86)"))
        let before = TestSupport.fingerprint(root.path)
        let r = try vg(root, "passthrough", "release", "0000:01:00.5")
        #expect(r.status == 4)
        #expect(
            r.stderr.contains("pid 4242") && r.stderr.contains("qemu-system-x86") && r.stderr.contains("0000:01:00.5"),
            "\(r.stderr)")
        #expect(TestSupport.fingerprint(root.path) == before)
        // vf disable is refused too, naming the VF and the process; --force overrides.
        let d = try vg(root, "vf", "disable", "0000:01:00.0")
        #expect(d.status == 4 && d.stderr.contains("0000:01:00.5") && d.stderr.contains("4242"), "\(d.stderr)")
        #expect(TestSupport.fingerprint(root.path) == before)
        #expect(try vg(root, "vf", "disable", "0000:01:00.0", "--force").status == 0)
        #expect(SysfsReader(root: root).device(PCIAddress("0000:01:00.0")!)?.sriov?.numVFs == 0)
    }

    @Test func passthroughInputErrors() throws {
        let root = try TestSupport.simHost("mixed")
        let before = TestSupport.fingerprint(root.path)
        let cases: [([String], Int32, String)] = [
            (["passthrough", "assign", "0000:00:01.0"], 2, "bridge"),
            (["passthrough", "release", "0000:01:00.0"], 2, "not assigned"),
            (["qemu", "args", "0000:01:00.0"], 2, "not assigned"),
        ]
        for (args, code, words) in cases {
            let r = try TestSupport.vgpuctl(["--root", root.path] + args)
            #expect(r.status == code, "\(args): exit \(r.status), \(r.stderr)")
            #expect(r.stderr.contains(words), "\(args): \(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1, "\(args): \(r.stderr)")
        }
        #expect(TestSupport.fingerprint(root.path) == before)
    }

    @Test func mutatingCommandsCheckPrivilegesFirst() throws {
        let setpriv = try #require(
            TestSupport.which("setpriv"), "setpriv (util-linux) is needed to run vgpuctl as another user")
        let root = try TestSupport.simHost("mixed")
        // Let 'nobody' read the tree (and traverse to the binary), but not write it.
        _ = try TestSupport.run("/bin/chmod", ["-R", "a+rX", (root.path as NSString).deletingLastPathComponent])
        _ = try TestSupport.run("/bin/chmod", ["a+rx", NSTemporaryDirectory()])
        let before = TestSupport.fingerprint(root.path)
        let r = try TestSupport.run(
            setpriv,
            [
                "--reuid=65534", "--regid=65534", "--clear-groups", TestSupport.vgpuctl,
                "--root", root.path, "vf", "enable", "0000:01:00.0", "--count", "2",
            ])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains("needs root"), "\(r.stderr)")
        #expect(TestSupport.fingerprint(root.path) == before)
    }
}
