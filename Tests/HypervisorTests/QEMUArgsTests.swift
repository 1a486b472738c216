import Foundation
import HostKit
import HostSim
import Hypervisor
import TestSupport
import Testing

/// `vgpuctl qemu args` on simulated hosts: the Grace reference example node by node, EGM,
/// feature detection against the installed QEMU 7.2, placement, --plan and bad input.
@Suite struct QEMUArgsTests {
    /// The example of qemu-libvirt.md ("Grace Hopper / Blackwell whole-GPU passthrough"), its
    /// `...` written out, for the first GPU; the second continues with nodes 10-17, gi8..gi15.
    static let referenceGPU0 = """
        -numa node,nodeid=2 -numa node,nodeid=3 -numa node,nodeid=4 -numa node,nodeid=5
        -numa node,nodeid=6 -numa node,nodeid=7 -numa node,nodeid=8 -numa node,nodeid=9
        -device vfio-pci-nohotplug,host=0009:01:00.0,bus=pcie.0,addr=04.0,rombar=0,id=dev0
        -object acpi-generic-initiator,id=gi0,pci-dev=dev0,node=2
        -object acpi-generic-initiator,id=gi1,pci-dev=dev0,node=3
        -object acpi-generic-initiator,id=gi2,pci-dev=dev0,node=4
        -object acpi-generic-initiator,id=gi3,pci-dev=dev0,node=5
        -object acpi-generic-initiator,id=gi4,pci-dev=dev0,node=6
        -object acpi-generic-initiator,id=gi5,pci-dev=dev0,node=7
        -object acpi-generic-initiator,id=gi6,pci-dev=dev0,node=8
        -object acpi-generic-initiator,id=gi7,pci-dev=dev0,node=9
        """
    static let referenceGPU1 = """
        -numa node,nodeid=10 -numa node,nodeid=11 -numa node,nodeid=12 -numa node,nodeid=13
        -numa node,nodeid=14 -numa node,nodeid=15 -numa node,nodeid=16 -numa node,nodeid=17
        -device vfio-pci-nohotplug,host=0019:01:00.0,bus=pcie.0,addr=05.0,rombar=0,id=dev1
        -object acpi-generic-initiator,id=gi8,pci-dev=dev1,node=10
        -object acpi-generic-initiator,id=gi9,pci-dev=dev1,node=11
        -object acpi-generic-initiator,id=gi10,pci-dev=dev1,node=12
        -object acpi-generic-initiator,id=gi11,pci-dev=dev1,node=13
        -object acpi-generic-initiator,id=gi12,pci-dev=dev1,node=14
        -object acpi-generic-initiator,id=gi13,pci-dev=dev1,node=15
        -object acpi-generic-initiator,id=gi14,pci-dev=dev1,node=16
        -object acpi-generic-initiator,id=gi15,pci-dev=dev1,node=17
        """

    /// The reference arguments with vgpuctl's stable ids for dev0/dev1.
    static var reference: [String] {
        (referenceGPU0 + "\n" + referenceGPU1).split(whereSeparator: { $0 == " " || $0 == "\n" }).map {
            $0.replacingOccurrences(of: "dev0", with: "hostdev-0009-01-00.0").replacingOccurrences(
                of: "dev1", with: "hostdev-0019-01-00.0")
        }
    }

    static let graceArgs = [
        "qemu", "args", "0009:01:00.0", "0019:01:00.0", "--first-node", "2", "--bus", "pcie.0", "--addr", "04.0",
    ]

    @Test func graceGPUsMatchTheReferenceExampleNodeByNode() throws {
        let root = try HV.host("gh200x4", assigned: ["0009:01:00.0", "0019:01:00.0"])
        let r = try HV.vg(root, Self.graceArgs + ["--qemu-version", "9.2", "--no-egm"])
        #expect(r.status == 0, "\(r.stderr)")
        let got = HV.lines(r.stdout)
        let want = Self.reference
        #expect(got.count == want.count)
        for (k, (g, w)) in zip(got, want).enumerated() { #expect(g == w, "argument \(k)") }
        // Per GPU: 8 nodes, gi ids continuing, each node of a GPU named by exactly one gi object.
        let gis = got.filter { $0.hasPrefix("acpi-generic-initiator") }
        #expect(gis.count == 16)
        #expect(gis.map { $0.components(separatedBy: ",node=").last ?? "" } == (2...17).map(String.init))
        #expect(gis.prefix(8).allSatisfy { $0.contains("pci-dev=hostdev-0009-01-00.0") })
        #expect(gis.suffix(8).allSatisfy { $0.contains("pci-dev=hostdev-0019-01-00.0") })
        // JSON: the same arguments as an array.
        let j = try HV.vg(root, Self.graceArgs + ["--qemu-version", "9.2", "--no-egm", "--json"])
        #expect(try JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as? [String] == want)
    }

    @Test func egmRegionsBecomeMemoryNodesAndRetiredPagesAreWarned() throws {
        let root = try HV.host("gh200x4", assigned: ["0009:01:00.0", "0019:01:00.0"])
        let r = try HV.vg(root, Self.graceArgs + ["--qemu-version", "9.2"])
        #expect(r.status == 0, "\(r.stderr)")
        let got = HV.lines(r.stdout)
        #expect(Array(got.prefix(Self.reference.count)) == Self.reference)
        #expect(
            Array(got.dropFirst(Self.reference.count)) == [
                "-object",
                "memory-backend-file,id=egm4,mem-path=\(root.url("dev/egm4")),size=429496729600,share=on,prealloc=on",
                "-numa", "node,nodeid=18,memdev=egm4",
                "-object",
                "memory-backend-file,id=egm5,mem-path=\(root.url("dev/egm5")),size=429496729600,share=on,prealloc=on",
                "-numa", "node,nodeid=19,memdev=egm5",
            ])
        let warnings = HV.lines(r.stderr).filter { $0.hasPrefix("vgpuctl: warning:") }
        #expect(warnings.count == 1, "\(r.stderr)")
        #expect(
            warnings.first?.contains("egm5") == true && warnings.first?.contains("2 retired pages") == true
                && warnings.first?.contains("0x1a2b0000, 0x3c4d0000") == true
                && warnings.first?.contains("no public QEMU option passes retired pages") == true, "\(r.stderr)")
        #expect(r.stderr.contains("include it in -m"), "\(r.stderr)")
    }

    @Test func twoGPUsOnOneSocketShareOneEGMNode() throws {
        // GB200: two GPUs per Grace socket, one EGM region per socket.
        let root = try HV.host("gb200x4")
        let r = try HV.vg(
            root,
            [
                "qemu", "args", "0008:01:00.0", "0009:01:00.0", "0018:01:00.0", "--qemu-version", "9.2", "--first-node",
                "2",
            ])
        #expect(r.status == 0, "\(r.stderr)")
        let got = HV.lines(r.stdout)
        #expect(
            got.filter { $0.hasPrefix("memory-backend-file") }.map {
                $0.components(separatedBy: ",")[0...1].joined(separator: ",")
            }
                == ["memory-backend-file,id=egm2", "memory-backend-file,id=egm3"])
        #expect(
            Array(got.suffix(6)) == [
                "-numa", "node,nodeid=26,memdev=egm2", "-object",
                "memory-backend-file,id=egm3,mem-path=\(root.url("dev/egm3")),size=412316860416,share=on,prealloc=on",
                "-numa", "node,nodeid=27,memdev=egm3",
            ])
    }

    @Test func theInstalledQEMU72LacksAcpiGenericInitiator() throws {
        try HV.requireTools()
        let root = try HV.host("gh200x4", assigned: ["0009:01:00.0", "0019:01:00.0"])
        let before = TestSupport.fingerprint(root.path)
        for extra in [[], ["--qemu", HV.qemu], ["--qemu", "qemu-system-x86_64"]] {
            let r = try HV.vg(root, Self.graceArgs + extra)
            #expect(r.status == 1, "\(extra): \(r.stderr)")
            #expect(r.stdout.isEmpty)
            #expect(
                r.stderr.contains("acpi-generic-initiator") && r.stderr.contains("QEMU 9.0 adds it")
                    && r.stderr.contains("QEMU 7.2"), "\(r.stderr)")
            #expect(HV.lines(r.stderr).count == 1, "\(r.stderr)")
        }
        let old = try HV.vg(root, Self.graceArgs + ["--qemu-version", "8.2"])
        #expect(
            old.status == 1 && old.stderr.contains("QEMU 8.2 (--qemu-version) has no acpi-generic-initiator object")
                && old.stderr.contains("9.0"), "\(old.stderr)")
        #expect(TestSupport.fingerprint(root.path) == before)
    }

    @Test func detectionAsksTheInstalledBinary() throws {
        try HV.requireTools()
        let caps = try QEMUCapabilities.detect(binary: HV.qemu)
        #expect(caps.version.map { $0.major == 7 && $0.minor == 2 } == true)
        #expect(caps.supports(.vfioPCI) == true && caps.supports(.vfioPCINoHotplug) == true)
        #expect(caps.supports(.memoryBackendFile) == true && caps.supports(.jsonDevice) == true)
        #expect(caps.supports(.acpiGenericInitiator) == false && caps.supports(.iommufd) == false)
    }

    @Test func iommufdNeedsQEMU90AndTheKernelsFiles() throws {
        try HV.requireTools()
        let root = try HV.host("h100x8", assigned: ["0000:18:00.0"])
        let before = TestSupport.fingerprint(root.path)
        let old = try HV.vg(root, ["qemu", "args", "0000:18:00.0", "--iommufd"])
        #expect(
            old.status == 1 && old.stderr.contains("iommufd object") && old.stderr.contains("QEMU 9.0 adds it"),
            "\(old.stderr)")
        let noDev = try HV.vg(root, ["qemu", "args", "0000:18:00.0", "--iommufd", "--qemu-version", "9.2"])
        #expect(noDev.status == 1 && noDev.stderr.contains("dev/iommu"), "\(noDev.stderr)")
        #expect(TestSupport.fingerprint(root.path) == before)
        // A kernel with /dev/iommu: the simulated kernel gives vfio-pci devices their VFIO device
        // file (vfio-dev/vfio0/dev, /dev/vfio/devices/vfio0) as Linux 6.6+ with the cdev does.
        _ = FileManager.default.createFile(atPath: root.url("dev/iommu"), contents: nil)
        let ok = try HV.vg(root, ["qemu", "args", "0000:18:00.0", "--iommufd", "--qemu-version", "9.2"])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(
            HV.lines(ok.stdout) == [
                "-object", "iommufd,id=iommufd0", "-device",
                "vfio-pci,host=0000:18:00.0,iommufd=iommufd0,id=hostdev-0000-18-00.0",
            ])
        // Without the cdev (Debian's 6.12 and 7.2: vfio-dev/vfioN is there, its `dev` is not): refused.
        let dev = SysfsReader(root: root).device(PCIAddress("0000:18:00.0")!)!
        let vfioDev = root.url(dev.canonicalPath! + "/vfio-dev")
        let n = try #require(try FileManager.default.contentsOfDirectory(atPath: vfioDev).first)
        try FileManager.default.removeItem(atPath: vfioDev + "/" + n + "/dev")
        let noCdev = try HV.vg(root, ["qemu", "args", "0000:18:00.0", "--iommufd", "--qemu-version", "9.2"])
        #expect(noCdev.status == 1 && noCdev.stderr.contains("CONFIG_VFIO_DEVICE_CDEV"), "\(noCdev.stderr)")
    }

    @Test func deviceJSONIsTypedAndDetected() throws {
        try HV.requireTools()
        let root = try HV.host("mixed", assigned: ["0000:03:00.0"])
        let r = try HV.vg(root, ["qemu", "args", "0000:03:00.0", "--device-json", "--addr", "6", "--rombar", "0"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(
            HV.lines(r.stdout) == [
                "-device",
                #"{"driver":"vfio-pci","host":"0000:03:00.0","addr":"06.0","multifunction":true,"rombar":0,"id":"hostdev-0000-03-00.0"}"#,
                "-device",
                #"{"driver":"vfio-pci","host":"0000:03:00.1","addr":"06.1","rombar":0,"id":"hostdev-0000-03-00.1"}"#,
            ])
        let old = try HV.vg(root, ["qemu", "args", "0000:03:00.0", "--device-json", "--qemu-version", "6.1"])
        #expect(
            old.status == 1 && old.stderr.contains("JSON syntax for -device") && old.stderr.contains("6.2"),
            "\(old.stderr)")
    }

    @Test func companionsShareTheSlotAsFunctions() throws {
        let root = try HV.host("mixed", assigned: ["0000:03:00.0", "0000:01:00.0"])
        let r = try HV.vg(
            root,
            [
                "qemu", "args", "0000:01:00.0", "0000:03:00.0", "--bus", "pcie.0", "--addr", "0x4", "--qemu-version",
                "7.2",
            ])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(
            HV.lines(r.stdout) == [
                "-device", "vfio-pci,host=0000:01:00.0,bus=pcie.0,addr=04.0,id=hostdev-0000-01-00.0",
                "-device", "vfio-pci,host=0000:03:00.0,bus=pcie.0,addr=05.0,multifunction=on,id=hostdev-0000-03-00.0",
                "-device", "vfio-pci,host=0000:03:00.1,bus=pcie.0,addr=05.1,id=hostdev-0000-03-00.1",
            ])
        // Without placement QEMU picks the slots; the companion still comes along.
        let plain = try HV.vg(root, ["qemu", "args", "0000:03:00.0", "--qemu-version", "7.2"])
        #expect(
            HV.lines(plain.stdout) == [
                "-device", "vfio-pci,host=0000:03:00.0,id=hostdev-0000-03-00.0",
                "-device", "vfio-pci,host=0000:03:00.1,id=hostdev-0000-03-00.1",
            ])
    }

    @Test func planDescribesWhatPassthroughAssignWouldDoAndChangesNothing() throws {
        let root = try TestSupport.simHost("mixed")
        let before = TestSupport.fingerprint(root.path)
        let r = try HV.vg(root, ["qemu", "args", "0000:03:00.0", "--plan", "--qemu-version", "7.2"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(HV.lines(r.stdout).count == 4)
        #expect(
            r.stderr.contains("passthrough assign 0000:03:00.0")
                && r.stderr.contains("0000:03:00.0 (nvidia -> vfio-pci)")
                && r.stderr.contains("0000:03:00.1 (snd_hda_intel -> vfio-pci, companion)"), "\(r.stderr)")
        let g = try HV.vg(
            try HV.host("gh200x4"), ["qemu", "args", "0029:01:00.0", "--plan", "--qemu-version", "9.2", "--no-egm"])
        #expect(g.status == 0 && g.stderr.contains("nvidia -> nvgrace_gpu_vfio_pci"), "\(g.stderr)")
        #expect(TestSupport.fingerprint(root.path) == before)
    }

    @Test func mdevsAreHandedOverBySysfsPathWithCommasEscaped() throws {
        // A host whose root path holds a comma: QEMU must see it doubled.
        let dir = TestSupport.tempDir("mdev") + "/a,b"
        _ = try SimHostBuilder.create(at: dir, model: "h100x8")
        let root = HostRoot(dir)
        let uuid = "c2177883-f1bb-47f0-914d-32a22e3a8804"
        try HV.makeMdev(root, parent: "0000:18:00.0", uuid: uuid)
        let r = try HV.vg(root, ["qemu", "args", uuid.uppercased(), "--qemu-version", "7.2"])
        #expect(r.status == 0, "\(r.stderr)")
        let escaped = root.url("sys/bus/mdev/devices/\(uuid)").replacingOccurrences(of: ",", with: ",,")
        #expect(HV.lines(r.stdout) == ["-device", "vfio-pci,sysfsdev=\(escaped),id=hostdev-\(uuid)"])
        let x = try HV.vg(root, ["libvirt", "xml", uuid])
        #expect(
            x.stdout.contains("<hostdev mode='subsystem' type='mdev' model='vfio-pci'>")
                && x.stdout.contains("<address uuid='\(uuid)'/>"), "\(x.stdout)")
    }

    @Test func badInputIsOneLineExit2AndChangesNothing() throws {
        let root = try HV.host("mixed", assigned: ["0000:01:00.0"])
        let before = TestSupport.fingerprint(root.path)
        let cases: [([String], Int32, String)] = [
            (["qemu", "args", "0000:02:00.0"], 2, "0000:02:00.0 is not assigned (it is bound to nvidia)"),
            (["qemu", "args", "0000:7f:00.0"], 2, "no PCI device 0000:7f:00.0"),
            (["qemu", "args", "zz"], 2, "'zz' is neither a PCI address"),
            (["qemu", "args"], 2, "name at least one device"),
            (["qemu", "args", "0000:01:00.0", "0000:01:00.0"], 2, "named twice"),
            (["qemu", "args", "0000:00:01.0", "--plan"], 2, "bridge"),
            (["qemu", "args", "0000:01:00.0", "--addr", "40"], 2, "--addr '40'"),
            (["qemu", "args", "0000:01:00.0", "--addr", "1f", "--qemu-version", "7.2"], 0, ""),
            (["qemu", "args", "0000:01:00.0", "--bus", "1,x", "--qemu-version", "7.2"], 2, "--bus '1,x'"),
            (["qemu", "args", "0000:01:00.0", "--rombar", "5", "--qemu-version", "7.2"], 2, "--rombar"),
            (["qemu", "args", "0000:01:00.0", "--first-node", "-1", "--qemu-version", "7.2"], 2, "--first-node"),
            (["qemu", "args", "0000:01:00.0", "--qemu-version", "nine"], 2, "--qemu-version 'nine'"),
            (
                ["qemu", "args", "0000:01:00.0", "--qemu-version", "9.2", "--qemu", "/x"], 2,
                "either --qemu or --qemu-version"
            ),
            (
                ["qemu", "args", "0000:01:00.0", "--qemu", "/nonexistent/qemu"], 2,
                "no executable QEMU at '/nonexistent/qemu'"
            ),
            (["qemu", "args", "0000:01:00.0", "--qemu", "/bin/true"], 2, "/bin/true is not a QEMU system emulator"),
            (["qemu", "args", "0000:02:00.0", "--include-group"], 2, "--include-group goes with --plan"),
            (["libvirt", "xml", "0000:02:00.0"], 2, "not assigned"),
            (["libvirt", "xml", "0000:01:00.0", "--first-node", "0"], 2, "--first-node"),
        ]
        for (args, code, words) in cases {
            let r = try HV.vg(root, args)
            #expect(r.status == code, "\(args): exit \(r.status), \(r.stderr)")
            if code != 0 {
                #expect(r.stderr.contains(words), "\(args): \(r.stderr)")
                #expect(HV.lines(r.stderr).count == 1, "\(args): \(r.stderr)")
                #expect(r.stdout.isEmpty, "\(args): \(r.stdout)")
            }
        }
        #expect(TestSupport.fingerprint(root.path) == before)
    }
}
