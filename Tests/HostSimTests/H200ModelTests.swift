import Foundation
import HostKit
import HostSim
import TestSupport
import Testing

/// The `h200x8` model: eight H200s on the config space of the real one in
/// `shared/data/h200-vm`, with the SR-IOV capability put back in the extended chain.
@Suite struct H200ModelTests {
    static let captured = HostTrees.h200Capture + "/sys/devices/pci0000:00/0000:00:06.0/config"

    @Test func theConfigSpaceIsTheRealOneWithSRIOVPutBack() throws {
        let root = try TestSupport.simHost("h200x8")
        let s = SysfsReader(root: root)
        let gpu = PCIAddress("0000:18:00.0")!
        let sim = try #require(s.bytes(HostRoot.deviceFile(gpu, "config")))
        let real = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.captured)))
        #expect(sim.count == 4096 && real.count == 4096)
        // Every byte as captured, except the BAR registers (0x10-0x27), the SR-IOV structure
        // (0x250-0x28f) and the DSN value (0x2f4-0x2fb).
        let changed = (0..<4096).filter { sim[$0] != real[$0] }
        let allowed: (Int) -> Bool = {
            (0x10..<0x28).contains($0) || (0x250..<0x290).contains($0) || (0x2f4..<0x2fc).contains($0)
        }
        #expect(
            changed.allSatisfy(allowed),
            "bytes changed outside BARs/SR-IOV/DSN: \(changed.filter { !allowed($0) }.map { String($0, radix: 16) })")
        let cs = ConfigSpace(sim)
        // The real chain with SR-IOV where the hypervisor had a Null entry.
        let chain = cs.extendedCapabilities.map { "\(String($0.offset, radix: 16)):\(String($0.id, radix: 16))" }
        #expect(
            chain == ["100:0", "12c:18", "134:0", "1b8:1", "248:0", "250:10", "2a4:b", "2b8:4", "2f0:3"], "\(chain)")
        let sr = try #require(cs.sriov)
        #expect(
            sr.offset == 0x250 && sr.totalVFs == 32 && sr.firstVFOffset == 4 && sr.vfStride == 1
                && sr.vfDeviceID == 0x2335)
        #expect(cs.deviceSerialNumber == 0x18bf_b0a1_0000_0000)
        let d = try #require(s.device(gpu))
        #expect(d.id == "10de:2335" && d.subsystemDeviceID == 0x18bf && d.sriov?.totalVFs == 32)
        // The real lspci reads the same capability.
        let lspci = try #require(TestSupport.which("lspci"), "pciutils is not installed")
        let r = try TestSupport.run(
            lspci, ["-A", "linux-sysfs", "-O", "sysfs.path=\(root.path)/sys/bus/pci", "-s", "18:00.0", "-vvv"])
        #expect(r.stdout.contains("Capabilities: [250 v1] Single Root I/O Virtualization (SR-IOV)"), "\(r.stdout)")
        #expect(r.stdout.contains("Total VFs: 32"), "\(r.stdout)")
    }

    @Test func vfsCanBeEnabledAndTheH200XCatalogApplies() throws {
        let root = try TestSupport.simHost("h200x8")
        let r = try TestSupport.vgpuctl(["--root", root.path, "vf", "enable", "0000:18:00.0", "--count", "4", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let sr = try #require(SysfsReader(root: root).configSpace(PCIAddress("0000:18:00.0")!)?.sriov)
        #expect(sr.numVFs == 4 && sr.vfEnabled)
        let p = try TestSupport.vgpuctl(["--root", root.path, "profile", "list", "0000:18:00.0"])
        #expect(
            p.status == 0 && p.stdout.contains("catalog H200X") && p.stdout.contains("H200X-1-18C"),
            "\(p.stdout)\(p.stderr)")
    }
}
