import Foundation
import HostKit
import Hypervisor
import Passthrough
import TestSupport
import Testing

/// `vgpuctl libvirt-hook` (and the contrib/libvirt wrapper) on simulated hosts.
@Suite struct LibvirtHookTests {
    static func domain(_ name: String, _ addresses: [String], extra: String = "") -> String {
        let hostdevs = addresses.map { a -> String in
            let p = PCIAddress(a)!
            return """
                    <hostdev mode='subsystem' type='pci' managed='yes'>
                      <source><address domain='0x\(hex(p.domain, 4))' bus='0x\(hex(p.bus, 2))' slot='0x\(hex(p.device, 2))' function='0x\(p.function)'/></source>
                    </hostdev>
                """
        }.joined(separator: "\n")
        return
            "<domain type='kvm'>\n  <name>\(name)</name>\n  <devices>\n\(hostdevs)\n\(extra)  </devices>\n</domain>\n"
    }

    /// The host's device state (files and links under sys and dev), without vgpuctl's own
    /// bookkeeping files and the empty directories the simulated kernel leaves (dev/vfio/devices).
    static func devices(_ root: HostRoot) -> [String: String] {
        TestSupport.fingerprint(root.path).filter {
            ($0.key.hasPrefix("sys/") || $0.key.hasPrefix("dev/")) && $0.value != "dir"
        }
    }

    func hook(_ root: HostRoot, _ guest: String, _ op: String, _ sub: String, xml: String) throws -> TestSupport.Result
    {
        try HV.vg(root, ["libvirt-hook", guest, op, sub, "-"], stdin: xml)
    }

    @Test func prepareAssignsAndReleaseGivesBack() throws {
        let root = try TestSupport.simHost("mixed")
        let xml = Self.domain("vm1", ["0000:03:00.0", "0000:04:00.0"])  // a GPU, and a NIC vgpuctl leaves to libvirt
        let p = try hook(root, "vm1", "prepare", "begin", xml: xml)
        #expect(p.status == 0 && p.stdout.isEmpty && p.stderr.isEmpty, "\(p.stderr)")
        #expect(HV.driver(root, "0000:03:00.0") == "vfio-pci" && HV.driver(root, "0000:03:00.1") == "vfio-pci")
        #expect(HV.driver(root, "0000:04:00.0") == "ixgbe")
        #expect(FileManager.default.fileExists(atPath: root.url(LibvirtHook.recordFile("vm1"))))
        // Started/stopped operations do nothing.
        for (op, sub) in [("start", "begin"), ("started", "begin"), ("stopped", "end"), ("migrate", "begin")] {
            let r = try hook(root, "vm1", op, sub, xml: "not even XML")
            #expect(r.status == 0 && r.stdout.isEmpty && r.stderr.isEmpty, "\(op) \(sub): \(r.stderr)")
        }
        let r = try HV.vg(root, ["libvirt-hook", "vm1", "release", "end", "-", "--json"], stdin: xml)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("\"0000:03:00.0\""), "\(r.stdout)")
        #expect(HV.driver(root, "0000:03:00.0") == "nvidia" && HV.driver(root, "0000:03:00.1") == "snd_hda_intel")
        #expect(try PassthroughState.load(root).devices.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: root.url(LibvirtHook.recordFile("vm1"))))
        // A second release has nothing to do.
        #expect(try hook(root, "vm1", "release", "end", xml: xml).status == 0)
    }

    @Test func aDeviceAssignedBeforehandStaysAssignedAfterRelease() throws {
        let root = try HV.host("mixed", assigned: ["0000:01:00.0"])
        let xml = Self.domain("vm2", ["0000:01:00.0"])
        #expect(try hook(root, "vm2", "prepare", "begin", xml: xml).status == 0)
        #expect(try hook(root, "vm2", "release", "end", xml: xml).status == 0)
        #expect(HV.driver(root, "0000:01:00.0") == "vfio-pci")
    }

    @Test func nothingManagedExitsZeroAtOnceAndChangesNothing() throws {
        let root = try TestSupport.simHost("mixed")
        let before = TestSupport.fingerprint(root.path)
        for xml in [
            Self.domain("plain", []), Self.domain("nic", ["0000:04:00.0"]), Self.domain("gone", ["0000:7f:00.0"]),
        ] {
            let start = Date()
            let r = try hook(root, "plain", "prepare", "begin", xml: xml)
            #expect(r.status == 0 && r.stdout.isEmpty && r.stderr.isEmpty, "\(r.stderr)")
            #expect(Date().timeIntervalSince(start) < 2)
        }
        #expect(TestSupport.fingerprint(root.path) == before)
    }

    @Test func badInputIsOneLineAndChangesNothing() throws {
        let root = try TestSupport.simHost("mixed")
        let before = TestSupport.fingerprint(root.path)
        let cases: [(String, [String], Int32, String)] = [
            (
                "<domain><devices><hostdev type='pci'>", ["vm", "prepare", "begin", "-"], 2,
                "the domain XML is malformed: line 1"
            ),
            ("", ["vm", "prepare", "begin", "-"], 2, "empty input"),
            ("<network/>", ["vm", "prepare", "begin", "-"], 2, "not a libvirt domain"),
            (Self.domain("x", ["0000:03:00.0"]), ["", "prepare", "begin", "-"], 2, "guest name"),
            (Self.domain("x", ["0000:03:00.0"]), ["vm", "prepare"], 2, "Missing expected argument"),
        ]
        for (xml, args, code, words) in cases {
            let r = try HV.vg(root, ["libvirt-hook"] + args, stdin: xml)
            #expect(r.status == code, "\(args): \(r.stderr)")
            #expect(r.stderr.contains(words) && HV.lines(r.stderr).count == 1, "\(args): \(r.stderr)")
        }
        #expect(TestSupport.fingerprint(root.path) == before)
    }

    @Test func aDeviceInUseStopsTheStartAndIsGivenBack() throws {
        let root = try HV.host("mixed", assigned: ["0000:02:00.0"])
        // Another VM holds 02:00.0's group: the hook assigns 01:00.0 first, then must undo it.
        try HV.holdOpen(root, pid: 4242, comm: "qemu-system-x86", file: "/dev/vfio/11")
        let before = Self.devices(root)
        let r = try hook(root, "vm3", "prepare", "begin", xml: Self.domain("vm3", ["0000:01:00.0", "0000:02:00.0"]))
        #expect(r.status == 4, "\(r.stderr)")
        #expect(
            r.stderr.contains("0000:02:00.0 is in use by pid 4242 (qemu-system-x86)") && HV.lines(r.stderr).count == 1,
            "\(r.stderr)")
        #expect(HV.driver(root, "0000:01:00.0") == "nvidia")
        #expect(try PassthroughState.load(root).devices.keys.sorted() == ["0000:02:00.0"])
        #expect(Self.devices(root) == before)
        #expect(!FileManager.default.fileExists(atPath: root.url(LibvirtHook.recordFile("vm3"))))
    }

    @Test func theHostConfigsGuestIsRespected() throws {
        let root = try TestSupport.simHost("mixed")
        // The applied host config gives the first VF and one that does not exist to guest "db".
        let vfs = try HV.vg(root, ["vf", "enable", "0000:01:00.0", "--count", "2", "--json"])
        #expect(vfs.status == 0, "\(vfs.stderr)")
        let vf =
            ((try JSONSerialization.jsonObject(with: Data(vfs.stdout.utf8)) as? [String: Any])?["vfs"]
            as? [[String: Any]])?.first?["address"] as? String ?? "?"
        try FileManager.default.createDirectory(atPath: root.url("var/lib/vgpuctl"), withIntermediateDirectories: true)
        try "{\"format\": 1, \"vfs\": {\"\(vf)\": \"db\", \"0000:01:1f.7\": \"db\"}}".write(
            toFile: root.url("var/lib/vgpuctl/guests.json"), atomically: true, encoding: .utf8)
        let original = HV.driver(root, vf)
        let before = Self.devices(root)
        let other = try hook(root, "web", "prepare", "begin", xml: Self.domain("web", [vf]))
        #expect(
            other.status == 4 && other.stderr.contains("\(vf) is for guest 'db' in the host config, not for 'web'"),
            "\(other.stderr)")
        let missing = try hook(root, "db", "prepare", "begin", xml: Self.domain("db", [vf, "0000:01:1f.7"]))
        #expect(
            missing.status == 1 && missing.stderr.contains("0000:01:1f.7") && missing.stderr.contains("vgpuctl apply"),
            "\(missing.stderr)")
        #expect(Self.devices(root) == before, "a failed prepare gives back what it assigned")
        let ok = try hook(root, "db", "prepare", "begin", xml: Self.domain("db", [vf]))
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(HV.driver(root, vf) == "vfio-pci")
        #expect(try hook(root, "db", "release", "end", xml: "").status == 0)
        #expect(HV.driver(root, vf) == original)
    }

    @Test func theContribWrapperRunsTheHook() throws {
        let root = try TestSupport.simHost("mixed")
        let script = TestSupport.repositoryDirectory + "/contrib/libvirt/vgpuctl-hook"
        let env: [String: String?] = ["VGPUCTL": TestSupport.vgpuctl, "VGPUCTL_ROOT": root.path]
        let p = try TestSupport.run(
            script, ["vm9", "prepare", "begin", "-"], environment: env, stdin: Self.domain("vm9", ["0000:02:00.0"]))
        #expect(p.status == 0, "\(p.stderr)")
        #expect(HV.driver(root, "0000:02:00.0") == "vfio-pci")
        let r = try TestSupport.run(script, ["vm9", "release", "end", "-"], environment: env, stdin: "")
        #expect(r.status == 0 && HV.driver(root, "0000:02:00.0") == "nvidia", "\(r.stderr)")
    }
}
