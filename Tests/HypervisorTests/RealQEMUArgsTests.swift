import Foundation
import HostKit
import HostSim
import Hypervisor
import Testing
import TestSupport

/// The real QEMU 7.2 of this machine reads every non-Grace argument set vgpuctl writes: its
/// options, property names and value types (keyval with doubled commas, and JSON) all pass, and
/// QEMU stops only where it needs the host device through VFIO, which this build machine cannot
/// give (the real-kernel guest runs the same arguments with real VFs and checks query-pci).
@Suite struct RealQEMUArgsTests {
    /// Runs QEMU 7.2 with `args` and returns its error output (it is expected to fail at VFIO).
    func qemuError(_ args: [String]) throws -> String {
        let r = try TestSupport.run(HV.qemu, ["-S", "-nodefaults", "-display", "none", "-machine", "q35", "-accel", "tcg", "-m", "64"] + args)
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
            #expect(err.contains("vfio \(uuid): no iommu_group found") && !err.contains("no such host device"), "\(err)")
        }
    }

    @Test func graceArgumentsNeedAQEMUThatIsNotHere() throws {
        try HV.requireTools()
        // What 7.2 says about the one object it lacks: vgpuctl's detection agrees with QEMU.
        let err = try qemuError(["-object", "acpi-generic-initiator,id=gi0,pci-dev=hostdev-0009-01-00.0,node=2"])
        #expect(err.contains("acpi-generic-initiator"), "\(err)")
        // The rest of a Grace set (nodes, nohotplug device, EGM backend) is 7.2 syntax too.
        let egm = TestSupport.tempDir("egm") + "/egm4"
        _ = FileManager.default.createFile(atPath: egm, contents: nil)
        // (-m 64: QEMU wants the nodes' memory to add up to -m, here all of it in the EGM node.)
        let rest = try qemuError(["-numa", "node,nodeid=0", "-numa", "node,nodeid=1",
                                  "-object", "memory-backend-file,id=egm4,mem-path=\(egm),size=67108864,share=on,prealloc=on",
                                  "-numa", "node,nodeid=2,memdev=egm4",
                                  "-device", "vfio-pci-nohotplug,host=0009:01:00.0,bus=pcie.0,addr=04.0,rombar=0,id=hostdev-0009-01-00.0"])
        #expect(rest.contains("vfio") && rest.contains("0009:01:00.0"), "\(rest)")
    }
}
