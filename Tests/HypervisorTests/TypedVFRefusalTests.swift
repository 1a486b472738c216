import Foundation
import HostKit
import HostSim
import Hypervisor
import SimGPU
import TestSupport
import Testing

/// A VF with a vGPU type is never rebound: `passthrough assign` refuses it (exit 4, host
/// unchanged, saying how to hand it over), the hook refuses a domain that would let libvirt
/// rebind it, and the simulated kernel refuses vfio-pci as NVIDIA's driver makes a real one do.
@Suite struct TypedVFRefusalTests {
    static func typedHost(_ iface: SimVGPUInterface) throws -> HostRoot {
        let dir = TestSupport.tempDir("typed-\(iface.rawValue)") + "/host"
        _ = try SimHostBuilder.create(at: dir, model: "h100x8", vgpuInterface: iface)
        let root = HostRoot(dir)
        let r = try HV.vg(root, ["vf", "create", "0000:18:00.0", "--type", "H100XM-20C", "--count", "2"])
        try #require(r.status == 0, "vf create: \(r.stderr)")
        return root
    }

    @Test(arguments: [SimVGPUInterface.vendor, .mdev]) func passthroughAssignOfATypedVFIsRefused(
        _ iface: SimVGPUInterface
    ) throws {
        let root = try Self.typedHost(iface)
        let before = TestSupport.fingerprint(root.path)
        let r = try HV.vg(root, ["passthrough", "assign", "0000:18:00.4"])
        #expect(r.status == 4, "\(r.status) \(r.stderr)")
        #expect(HV.lines(r.stderr).count == 1, "\(r.stderr)")
        #expect(
            r.stderr.contains("0000:18:00.4 carries a vGPU") && r.stderr.contains("'vgpuctl qemu args 0000:18:00.4'")
                && r.stderr.contains("'vgpuctl libvirt xml 0000:18:00.4'"), "\(r.stderr)")
        #expect(TestSupport.fingerprint(root.path) == before)
        #expect(HV.driver(root, "0000:18:00.4") == "nvidia")
        // The hand-off the message names works as it is.
        let q = try HV.vg(root, ["qemu", "args", "0000:18:00.4"])
        #expect(
            q.status == 0 && q.stdout.contains(iface == .mdev ? "sysfsdev=" : "host=0000:18:00.4"),
            "\(q.stdout) \(q.stderr)")
    }

    @Test func theHookRefusesALibvirtManagedTypedVF() throws {
        let root = try Self.typedHost(.vendor)
        let before = TestSupport.fingerprint(root.path)
        let xml = LibvirtHookTests.domain("vm1", ["0000:18:00.4"])  // managed='yes'
        let r = try HV.vg(root, ["libvirt-hook", "vm1", "prepare", "begin", "-"], stdin: xml)
        #expect(
            r.status == 2 && r.stderr.contains("managed='yes'") && r.stderr.contains("0000:18:00.4"),
            "\(r.status) \(r.stderr)")
        #expect(TestSupport.fingerprint(root.path) == before)
    }

    @Test func anUntypedVendorVFIsNotSentToPassthrough() throws {
        let root = try Self.typedHost(.vendor)
        let r = try HV.vg(root, ["qemu", "args", "0000:18:00.6"])  // VF 2: enabled, no type
        #expect(
            r.status == 2 && r.stderr.contains("without a vGPU") && !r.stderr.contains("passthrough assign"),
            "\(r.status) \(r.stderr)")
    }

    /// `--guest` names a guest the config and the applied state know, or says which exist.
    @Test func unknownOrUnappliedGuestsAreOneLineErrors() throws {
        let dir = TestSupport.tempDir("guests") + "/host"
        _ = try SimHostBuilder.create(at: dir, model: "h100x8", vgpuInterface: .vendor)
        let root = HostRoot(dir)
        let config = TestSupport.repositoryDirectory + "/contrib/examples/h100x8-two-guests.yaml"
        let before = TestSupport.fingerprint(root.path)
        let cases: [([String], Int32, [String])] = [
            (
                ["qemu", "args", "--guest", "vm-a"], 2,
                ["no guest 'vm-a'", "no host config naming guests has been applied"]
            ),
            (
                ["qemu", "args", "--guest", "vm-a", "-f", config], 1,
                ["gives 'vm-a' 2 VFs", "has 0", "vgpuctl apply -f"]
            ),
            (["libvirt", "xml", "--guest", "vm-z", "-f", config], 2, ["names no guest 'vm-z'", "vm-a, vm-b"]),
            (["qemu", "args", "-f", config, "0000:18:00.0"], 2, ["-f and -c go with --guest NAME"]),
        ]
        for (args, status, words) in cases {
            let r = try HV.vg(root, args)
            #expect(r.status == status && HV.lines(r.stderr).count == 1, "\(args): \(r.status) \(r.stderr)")
            for w in words { #expect(r.stderr.contains(w), "\(args): \(r.stderr)") }
        }
        #expect(TestSupport.fingerprint(root.path) == before)
        // After apply, the state knows vm-b without the config too.
        #expect(try HV.vg(root, ["apply", "-f", config]).status == 0)
        let r = try HV.vg(root, ["qemu", "args", "--guest", "vm-b", "--qemu-version", "7.2"])
        #expect(
            r.status == 0 && r.stdout.contains("host=0000:18:00.6") && r.stdout.contains("host=0000:18:00.7"),
            "\(r.stdout) \(r.stderr)")
        let z = try HV.vg(root, ["qemu", "args", "--guest", "vm-z"])
        #expect(z.status == 2 && z.stderr.contains("the guests are vm-a, vm-b"), "\(z.stderr)")
        // The config installed for boot (etc/vgpuctl/host.yaml under the root) is read without -f.
        try FileManager.default.createDirectory(atPath: root.url("etc/vgpuctl"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: config, toPath: root.url("etc/vgpuctl/host.yaml"))
        let installed = try HV.vg(root, ["qemu", "args", "--guest", "vm-z"])
        #expect(
            installed.status == 2
                && installed.stderr.contains(
                    "\(root.url("etc/vgpuctl/host.yaml")) (config 'default') names no guest 'vm-z'"),
            "\(installed.stderr)")
    }

    /// A config that would bind untyped VFs of a vendor-VFIO GPU to vfio-pci is refused at plan
    /// time (exit 2, file:line:column), before anything changes.
    @Test func vfioHandoffOfUntypedVendorVFsIsRefusedBeforeAnyChange() throws {
        let dir = TestSupport.tempDir("handoff-vendor") + "/host"
        _ = try SimHostBuilder.create(at: dir, model: "h100x8", vgpuInterface: .vendor)
        let root = HostRoot(dir)
        let config = TestSupport.tempDir("cfg") + "/h.yaml"
        try
            "version: 1\nconfigs:\n  default:\n    - select: {address: \"0000:18:00.0\"}\n      mode: vgpu\n      vfs: 3\n      types: {H100XM-20C: 2}\n      vfioHandoff: true\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        let before = TestSupport.fingerprint(root.path)
        let r = try HV.vg(root, ["apply", "-f", config])
        #expect(
            r.status == 2 && r.stderr.contains("\(config):4:7") && r.stderr.contains("1 untyped VF of 0000:18:00.0"),
            "\(r.status) \(r.stderr)")
        #expect(TestSupport.fingerprint(root.path) == before)
    }

    @Test func theSimulatedVFIODriverRefusesAVendorVF() throws {
        let root = try Self.typedHost(.vendor)
        let vf = try #require(PCIAddress("0000:18:00.4"))
        let k = SimulatedKernel(root: root)
        try k.write("vfio-pci", to: .driverOverride(vf))
        try k.write(vf.description, to: .unbind(driver: "nvidia"))
        #expect(throws: KernelError.self) { try k.write(vf.description, to: .bind(driver: "vfio-pci")) }
        do { try k.write(vf.description, to: .bind(driver: "vfio-pci")) } catch {
            #expect(error.errno == .invalidArgument)
        }
        try k.write(vf.description, to: .driversProbe)  // the driver core ignores the probe error
        #expect(HV.driver(root, vf.description) == nil)
    }
}
