import Foundation
import HostKit
import HostSim
import SimGPU
import TestSupport
import Testing
import VirtualFunctions

/// The issue's checks on a simulated h100x8, through the CLI, once per backend; the same
/// scenario must give the same result through each.
@Suite(.serialized) struct ScenarioTests {
    static let pf = "0000:18:00.0"

    /// What a scenario saw, comparable across backends.
    struct Outcome: Equatable {
        var firstEight: [[String]] = []  // (VF, type, FB offset, channels) of the 8 created
        var ninth: (Int32, String) = (0, "")
        var refill: [[String]] = []
        var afterRefill: (Int32, String) = (0, "")
        var mixed: (Int32, String) = (0, "")
        var mixedChangedNothing = false
        var profileAvailable: [String: Int] = [:]

        static func == (a: Outcome, b: Outcome) -> Bool {
            a.firstEight == b.firstEight && a.ninth == b.ninth && a.refill == b.refill && a.afterRefill == b.afterRefill
                && a.mixed == b.mixed && a.mixedChangedNothing == b.mixedChangedNothing
                && a.profileAvailable == b.profileAvailable
        }
    }

    static func rows(_ r: TestSupport.Result) throws -> [[String]] {
        let created = try VF.json(r)["created"] as? [[String: Any]] ?? []
        return created.map { c in
            let ch = c["channels"] as? [String: Any]
            return [
                "\(c["index"] ?? "")", "\(c["type"] ?? "")", "\(c["framebufferOffsetMiB"] ?? "")",
                "\(ch?["offset"] ?? "")",
            ]
        }
    }

    static func scenario(_ iface: SimVGPUInterface) throws -> Outcome {
        let root = try VF.host("h100x8", iface)
        var o = Outcome()
        // Fill one GPU with H100XM-10C: 8 fit (NVIDIA's maximum) ...
        let fill = try VF.run(root, ["vf", "create", pf, "--type", "H100XM-10C", "--count", "8", "--json"])
        #expect(fill.status == 0, "\(iface): \(fill.stderr)")
        o.firstEight = try rows(fill)
        #expect(o.firstEight.count == 8)
        // ... and the next is refused with the explanation, nothing changed.
        var before = TestSupport.fingerprint(root.path)
        let ninth = try VF.run(root, ["vf", "create", pf, "--type", "H100XM-10C"])
        o.ninth = (ninth.status, ninth.stderr)
        #expect(ninth.status == 1 && ninth.stderr.contains("8 of at most 8 instances"), "\(iface): \(ninth.stderr)")
        #expect(TestSupport.fingerprint(root.path) == before, "\(iface): the refused request changed the host")
        // Clearing one makes room for exactly one again.
        let clear = try VF.run(root, ["vf", "clear", "0000:18:00.6"])
        #expect(clear.status == 0, "\(iface): \(clear.stderr)")
        let refill = try VF.run(root, ["vf", "create", pf, "--type", "H100XM-10C", "--json"])
        #expect(refill.status == 0, "\(iface): \(refill.stderr)")
        o.refill = try rows(refill)
        #expect(o.refill.first?.first == "2", "the freed VF (index 2) is the lowest free one")
        let again = try VF.run(root, ["vf", "create", pf, "--type", "H100XM-10C"])
        o.afterRefill = (again.status, again.stderr)
        #expect(again.status == 1)
        // A mixed request that does not fit on the next GPU is refused before anything changes
        // (its VFs are not even enabled).
        let other = "0000:19:00.0"
        before = TestSupport.fingerprint(root.path)
        let mixed = try VF.run(
            root,
            [
                "vf", "create", other, "--type", "H100XM-40C", "--count", "1", "--type", "H100XM-20C", "--count", "2",
                "--type", "H100XM-10C", "--count", "1",
            ])
        o.mixed = (mixed.status, mixed.stderr)
        #expect(
            mixed.status == 1 && mixed.stderr.contains("after 1 × H100XM-40C, 2 × H100XM-20C of the request")
                && mixed.stderr.contains("free: none"), "\(iface): \(mixed.stderr)")
        o.mixedChangedNothing = TestSupport.fingerprint(root.path) == before
        #expect(o.mixedChangedNothing, "\(iface): the refused mix changed the host")
        // A mix that fits goes through.
        let fits = try VF.run(
            root,
            [
                "vf", "create", other, "--type", "H100XM-40C", "--type", "H100XM-20C", "--count", "1", "--count", "1",
                "--json",
            ])
        #expect(fits.status == 0, "\(iface): \(fits.stderr)")
        let prof = try VF.run(root, ["profile", "list", other, "--json"])
        let gpus = try VF.json(prof)["gpus"] as? [[String: Any]] ?? []
        for t in gpus.first?["types"] as? [[String: Any]] ?? [] {
            o.profileAvailable[t["name"] as? String ?? ""] = t["available"] as? Int
        }
        #expect(
            o.profileAvailable["H100XM-20C"] == 1 && o.profileAvailable["H100XM-10C"] == 2
                && o.profileAvailable["H100XM-40C"] == 0)
        return o
    }

    @Test func theSameScenarioGivesTheSameResultThroughEachBackend() throws {
        let vendor = try Self.scenario(.vendor)
        let mdev = try Self.scenario(.mdev)
        let upstream = try Self.scenario(.upstream)
        #expect(vendor == mdev, "vendor sysfs and mdev differ")
        #expect(vendor == upstream, "vendor sysfs and upstream differ")
        #expect(
            vendor.firstEight.map { $0[2] } == ["0", "10160", "20320", "30480", "40640", "50800", "60960", "71120"])
    }

    @Test func vendorVFsStayBoundToNvidiaAndHandOffAsTheyAre() throws {
        let root = try VF.host("h100x8", .vendor)
        let r = try VF.run(root, ["vf", "create", Self.pf, "--type", "H100XM-40C", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let vf = PCIAddress("0000:18:00.4")!
        let d = SysfsReader(root: root).device(vf)
        #expect(d?.driver == "nvidia" && d?.driverOverride == nil)
        #expect(r.stdout.contains("sysfsdev=/sys/bus/pci/devices/0000:18:00.4"))
        #expect(SysfsReader(root: root).text("sys/bus/pci/devices/0000:18:00.4/nvidia/current_vgpu_type") == "1206\n")
        // The sibling's creatable list shrank to what still fits; a full GPU prints the header.
        let sibling = SysfsReader(root: root).text("sys/bus/pci/devices/0000:18:00.5/nvidia/creatable_vgpu_types") ?? ""
        #expect(
            sibling.hasPrefix("ID    : vGPU Name\n") && sibling.contains("1206  : NVIDIA H100XM-40C")
                && !sibling.contains("H100XM-80C"))
        #expect(try VF.run(root, ["vf", "create", Self.pf, "--type", "H100XM-40C"]).status == 0)
        #expect(
            SysfsReader(root: root).text("sys/bus/pci/devices/0000:18:00.6/nvidia/creatable_vgpu_types")
                == "ID    : vGPU Name\n")
    }

    @Test func mdevDevicesKeepTheirIdentityWhenRecreated() throws {
        let root = try VF.host("h100x8", .mdev)
        #expect(try VF.run(root, ["vf", "create", Self.pf, "--type", "H100XM-10C"]).status == 0)
        let uuid = MdevUUID.uuid(pf: VF.h100, vfIndex: 0, type: "H100XM-10C")
        let s = SysfsReader(root: root)
        #expect(s.exists("sys/bus/mdev/devices/\(uuid)/remove"))
        #expect(s.text("sys/class/mdev_bus/0000:18:00.5/mdev_supported_types/nvidia-1203/available_instances") == "1\n")
        #expect(try VF.run(root, ["vf", "clear", "0000:18:00.4"]).status == 0)
        #expect(!s.exists("sys/bus/mdev/devices/\(uuid)"))
        #expect(try VF.run(root, ["vf", "assign", "0000:18:00.4", "--type", "H100XM-10C"]).status == 0)
        #expect(s.exists("sys/bus/mdev/devices/\(uuid)/remove"), "the recreated mdev has the same UUID")
    }

    @Test func vendorVFsThatNvidiaDidNotBindAreNotPickedAndTheRefusalSaysWhy() throws {
        let root = try VF.host("h100x8", .vendor)
        try VF.enable(root, VF.h100, autoprobe: false)
        let before = TestSupport.fingerprint(root.path)
        let r = try VF.run(root, ["vf", "create", Self.pf, "--type", "H100XM-10C"])
        #expect(
            r.status == 1 && r.stderr.contains("0 of them free") && r.stderr.contains("bound to nvidia")
                && r.stderr.contains("--autoprobe"), "\(r.stderr)")
        #expect(TestSupport.fingerprint(root.path) == before)
    }

    @Test func genericHostHandsVFsOutAsTheyAre() throws {
        let root = try VF.host("h100x8", .none)
        let r = try VF.run(root, ["vf", "create", Self.pf, "--count", "2", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(
            r.stdout.contains("vgpuctl passthrough assign 0000:18:00.4")
                && r.stdout.contains("\"backend\" : \"generic\""))
        #expect(
            SysfsReader(root: root).device(PCIAddress("0000:18:00.4")!)?.driver == nil,
            "generic VFs stay unbound for passthrough assign")
    }

    @Test func clearIsRefusedWhileAVMHoldsTheVF() throws {
        for iface in [SimVGPUInterface.vendor, .mdev] {
            let root = try VF.host("h100x8", iface)
            #expect(try VF.run(root, ["vf", "create", Self.pf, "--type", "H100XM-10C"]).status == 0)
            let s = SysfsReader(root: root)
            let file: String
            if iface == .mdev {
                let uuid = MdevUUID.uuid(pf: VF.h100, vfIndex: 0, type: "H100XM-10C")
                file = "/dev/vfio/" + (s.linkName("sys/bus/mdev/devices/\(uuid)/iommu_group") ?? "?")
            } else {
                file = try #require(s.vfioFiles(PCIAddress("0000:18:00.4")!).first)
            }
            try FileManager.default.createDirectory(atPath: root.url("proc/4242/fd"), withIntermediateDirectories: true)
            try "qemu-system-x86\n".write(toFile: root.url("proc/4242/comm"), atomically: true, encoding: .utf8)
            try FileManager.default.createSymbolicLink(atPath: root.url("proc/4242/fd/9"), withDestinationPath: file)
            let before = TestSupport.fingerprint(root.path)
            let r = try VF.run(root, ["vf", "clear", "0000:18:00.4"])
            #expect(r.status == 4, "\(iface): \(r.stderr)")
            #expect(
                r.stderr.contains("pid 4242") && r.stderr.contains("qemu-system-x86") && r.stderr.contains(file),
                "\(r.stderr)")
            #expect(TestSupport.fingerprint(root.path) == before)
        }
    }
}
