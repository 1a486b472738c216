import Foundation
import HostKit
import HostSim
import Hypervisor
import TestSupport
import Testing

/// The real QEMU 7.2 of this machine reads every non-Grace argument set vgpuctl writes: its
/// options, property names and value types (keyval with doubled commas, and JSON) all pass, and
/// QEMU stops only where it needs the host device through VFIO, which this build machine cannot
/// give (the real-kernel guest runs the same arguments with real VFs and checks query-pci).
@Suite struct RealQEMUArgsTests {
    /// Runs QEMU 7.2 with `args` and returns its error output (it is expected to fail at VFIO).
    func qemuError(_ args: [String]) throws -> String {
        let r = try TestSupport.run(
            HV.qemu, ["-S", "-nodefaults", "-display", "none", "-machine", "q35", "-accel", "tcg", "-m", "64"] + args)
        #expect(r.status != 0)
        return r.stderr
    }

    @Test func everyNonGraceArgumentSetParsesUpToVFIO() throws {
        try HV.requireTools()
        let root = try HV.host("mixed", assigned: ["0000:01:00.0", "0000:03:00.0"])
        let sets: [[String]] = [
            ["0000:01:00.0"],
            ["0000:01:00.0", "0000:03:00.0", "--bus", "pcie.0", "--addr", "04.0"],
            ["0000:03:00.0", "--bus", "pcie.0", "--addr", "1e", "--rombar", "0"],
            ["0000:01:00.0", "0000:03:00.0", "--device-json", "--bus", "pcie.0", "--addr", "7", "--rombar", "1"],
        ]
        for s in sets {
            let r = try HV.vg(root, ["qemu", "args", "--json"] + s)
            #expect(r.status == 0, "\(s): \(r.stderr)")
            let args = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String] ?? []
            let err = try qemuError(args)
            // Realize of the first vfio-pci device fails on the missing host device: everything
            // before it (option syntax, properties, types, bus, addr) was accepted.
            #expect(err.contains("vfio /sys/bus/pci/devices/0000:0"), "\(s): \(err)")
            #expect(err.contains("no such host device"), "\(s): \(err)")
            for bad in ["Invalid parameter", "Property '", "not found", "Parameter '", "expected"] {
                #expect(!err.contains(bad), "\(s): \(err)")
            }
        }
    }

    @Test func aDoubledCommaReachesQEMUAsOne() throws {
        try HV.requireTools()
        let dir = TestSupport.tempDir("comma") + "/x,y"
        _ = try SimHostBuilder.create(at: dir, model: "h100x8")
        let root = HostRoot(dir)
        let uuid = "c2177883-f1bb-47f0-914d-32a22e3a8804"
        try HV.makeMdev(root, parent: "0000:18:00.0", uuid: uuid)
        for json in [false, true] {
            let r = try HV.vg(root, ["qemu", "args", uuid, "--json"] + (json ? ["--device-json"] : []))
            let args = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String] ?? []
            let err = try qemuError(args)
            // QEMU found the directory (whose name has one comma) and looked for its IOMMU group:
            // it read ",," as an escaped comma. A wrong path would be "no such host device".
            #expect(
                err.contains("vfio \(uuid): no iommu_group found") && !err.contains("no such host device"), "\(err)")
        }
    }

    /// vgpuctl's own Grace arguments (GPU, NUMA nodes, EGM backend, generic initiators) fed to
    /// this machine's QEMU 7.2: it stops at acpi-generic-initiator, the one object it lacks
    /// (vgpuctl's detection agrees); without those objects it reads the rest up to VFIO.
    /// One value is changed: the simulated EGM region is 400 GiB, so the backend's size becomes
    /// 64 MiB without prealloc (and -m 64); the guest's own node 0 is added as an operator does.
    @Test func graceArgumentsNeedAQEMUThatIsNotHere() throws {
        try HV.requireTools()
        let root = try HV.host("gh200x4", assigned: ["0009:01:00.0"])
        let r = try HV.vg(root, ["qemu", "args", "--json", "0009:01:00.0", "--qemu-version", "9.2"])
        #expect(r.status == 0, "\(r.stderr)")
        let produced = try #require(
            try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String], "\(r.stdout)")
        let egm = TestSupport.tempDir("egm") + "/egm4"
        _ = FileManager.default.createFile(atPath: egm, contents: nil)
        let args = produced.map { a -> String in
            guard a.hasPrefix("memory-backend-file,") else { return a }
            return a.split(separator: ",").map { p -> String in
                if p.hasPrefix("size=") { return "size=67108864" }
                if p.hasPrefix("prealloc=") { return "prealloc=off" }
                if p.hasPrefix("mem-path=") { return "mem-path=\(egm)" }
                return String(p)
            }.joined(separator: ",")
        }
        #expect(
            args.contains { $0.hasPrefix("acpi-generic-initiator,") }
                && args.contains { $0.hasPrefix("vfio-pci-nohotplug,host=0009:01:00.0") }
                && args.contains { $0.hasPrefix("memory-backend-file,") }, "\(produced)")
        let all = try qemuError(["-numa", "node,nodeid=0"] + args)
        #expect(all.contains("acpi-generic-initiator"), "\(all)")
        var rest: [String] = []
        var i = 0
        while i < args.count {
            if args[i] == "-object", i + 1 < args.count, args[i + 1].hasPrefix("acpi-generic-initiator,") {
                i += 2
                continue
            }
            rest.append(args[i])
            i += 1
        }
        let err = try qemuError(["-numa", "node,nodeid=0"] + rest)
        #expect(err.contains("vfio") && err.contains("0009:01:00.0"), "\(err)")
        for bad in ["Invalid parameter", "Property '", "Parameter '", "expected"] {
            #expect(!err.contains(bad), "\(err)")
        }
    }
}
