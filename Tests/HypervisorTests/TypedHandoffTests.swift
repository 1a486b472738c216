import Foundation
import HostKit
import HostSim
import Hypervisor
import SimGPU
import TestSupport
import Testing

/// The main job end to end, per vGPU backend, on simulated `h100x8` hosts: a host config with two
/// guests -> `apply` -> each guest's `qemu args --guest` starts a real QEMU 7.2 and its
/// `libvirt xml --guest` passes `virt-xml-validate`; the libvirt hook prepares and releases the
/// guest's devices from its domain XML.
@Suite struct TypedHandoffTests {
    struct Backend: Sendable, CustomTestStringConvertible {
        var name: String
        /// `sim create --vgpu-interface` (nil: none, generic SR-IOV).
        var interface: SimVGPUInterface
        /// The rule's body under `select`.
        var rule: String
        /// How a VF goes to QEMU: `host` (a PCI address) or `mdev` (sysfsdev=).
        var mdev: Bool
        /// The driver a guest's VF has after apply.
        var driver: String
        var testDescription: String { name }
    }

    static let backends: [Backend] = [
        Backend(
            name: "vendor", interface: .vendor, rule: "mode: vgpu\n      types: {H100XM-20C: {vm-a: 2, vm-b: 1}}",
            mdev: false, driver: "nvidia"),
        Backend(
            name: "mdev", interface: .mdev, rule: "mode: vgpu\n      types: {H100XM-20C: {vm-a: 2, vm-b: 1}}",
            mdev: true, driver: "nvidia"),
        Backend(
            name: "upstream", interface: .upstream,
            rule: "mode: vgpu\n      types: {H100XM-20C: {vm-a: 2, vm-b: 1}}\n      vfioHandoff: true", mdev: false,
            driver: "vfio-pci"),
        Backend(
            name: "generic", interface: .none,
            rule: "mode: vgpu\n      guests: {vm-a: 2, vm-b: 1}\n      vfioHandoff: true", mdev: false,
            driver: "vfio-pci"),
    ]
    static let pf = "0000:18:00.0"
    static let want = ["vm-a": 2, "vm-b": 1]

    /// A simulated host with the backend's interface and the config applied.
    static func applied(_ b: Backend) throws -> (HostRoot, String) {
        let dir = TestSupport.tempDir("handoff-\(b.name)") + "/host"
        _ = try SimHostBuilder.create(at: dir, model: "h100x8", vgpuInterface: b.interface)
        let root = HostRoot(dir)
        let config = TestSupport.tempDir("handoff-cfg") + "/host.yaml"
        try "version: 1\nconfigs:\n  default:\n    - select: {address: \"\(pf)\"}\n      \(b.rule)\n".write(
            toFile: config, atomically: true, encoding: .utf8)
        let r = try HV.vg(root, ["apply", "-f", config])
        try #require(r.status == 0, "apply: \(r.stderr)")
        let again = try HV.vg(root, ["apply", "-f", config, "--json"])
        #expect(
            again.status == 0 && again.stdout.contains("\"converged\" : true"),
            "second apply: \(again.stdout) \(again.stderr)")
        return (root, config)
    }

    /// QEMU's arguments with every `vfio-pci` device replaced by a `pci-testdev` stand-in at the
    /// same bus, slot and id (a VFIO device cannot exist outside the real-kernel guest).
    static func standIns(_ args: [String]) -> [String] {
        args.map { a in
            guard a.hasPrefix("vfio-pci,") else { return a }
            let keep = a.split(separator: ",").dropFirst().filter { p in
                ["bus=", "addr=", "id="].contains { p.hasPrefix($0) }
            }
            return (["pci-testdev"] + keep.map(String.init)).joined(separator: ",")
        }
    }

    @Test(arguments: backends) func configApplyQEMUAndLibvirtPerGuest(_ b: Backend) throws {
        try HV.requireTools()
        let (root, config) = try Self.applied(b)
        var seen: Set<String> = []
        for (guest, count) in Self.want.sorted(by: { $0.key < $1.key }) {
            // qemu args: the devices apply gave the guest, handed over the backend's way.
            let r = try HV.vg(
                root, ["qemu", "args", "--guest", guest, "-f", config, "--bus", "pcie.0", "--addr", "4", "--json"])
            try #require(r.status == 0, "\(b.name) \(guest): \(r.stderr)")
            let args = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String])
            let devices = args.filter { $0.hasPrefix("vfio-pci,") }
            #expect(devices.count == count, "\(b.name) \(guest): \(args)")
            for d in devices {
                #expect(
                    d.contains(b.mdev ? "sysfsdev=\(root.url("sys/bus/mdev/devices/"))" : "host=0000:18:00."), "\(d)")
                #expect(seen.insert(d).inserted, "a device went to two guests: \(d)")
            }
            // The VFs kept the driver the backend needs: apply did not rebind a typed vendor/mdev VF.
            let vfs = HV.lines(try HV.vg(root, ["vf", "list", Self.pf, "--json"]).stdout).joined()
            let listed = try #require(try JSONSerialization.jsonObject(with: Data(vfs.utf8)) as? [String: Any])
            let rows = ((listed["pfs"] as? [[String: Any]])?.first?["vfs"] as? [[String: Any]]) ?? []
            let mine = rows.filter { $0["guest"] as? String == guest }
            #expect(mine.count == count, "vf list shows \(count) VFs for \(guest): \(rows)")
            for v in mine {
                #expect(v["driver"] as? String == b.driver, "\(v)")
                #expect((v["vgpuType"] as? String) == (b.interface == .none ? nil : "H100XM-20C"), "\(v)")
            }

            // A real QEMU 7.2 with the arguments as they are gets as far as opening the VFIO device.
            let bare = try TestSupport.run(
                HV.qemu,
                ["-S", "-nodefaults", "-display", "none", "-machine", "q35", "-accel", "tcg", "-m", "64"] + args)
            #expect(bare.status != 0)
            if b.mdev {
                // QEMU found the mdev under the root and followed its iommu_group to a VFIO group
                // node this machine does not have.
                #expect(
                    bare.stderr.contains("vfio-pci,sysfsdev=\(root.url("sys/bus/mdev/devices/"))")
                        && bare.stderr.contains("failed to open /dev/vfio/"), "\(bare.stderr)")
            } else {
                #expect(
                    bare.stderr.contains("vfio /sys/bus/pci/devices/0000:18:00.")
                        && bare.stderr.contains("no such host device"), "\(bare.stderr)")
            }
            for bad in ["Invalid parameter", "Property '", "Parameter '", "expected"] {
                #expect(!bare.stderr.contains(bad), "\(bare.stderr)")
            }
            // With stand-ins for the VFIO devices it starts (-S), and the guest sees each device
            // at the slot vgpuctl placed it, under vgpuctl's id.
            let qemu = try RealQEMU(Self.standIns(args))
            let pci = try qemu.pciIDs()
            for (i, d) in devices.enumerated() {
                let id = try #require(
                    d.split(separator: ",").first { $0.hasPrefix("id=") }.map { String($0.dropFirst(3)) })
                let found = try #require(pci[id], "query-pci lists \(id): \(pci.keys.sorted())")
                #expect(found["slot"] as? Int == 4 + i, "\(found)")
            }

            // libvirt xml: valid, and the hostdev kind the backend needs.
            let x = try HV.vg(root, ["libvirt", "xml", "--guest", guest, "--json"])
            try #require(x.status == 0, "\(b.name) \(guest): \(x.stderr)")
            let pieces = try LibvirtXMLTests.pieces(x)
            let hostdevs = pieces["hostdevs"] as? [String] ?? []
            #expect(hostdevs.count == count)
            for h in hostdevs {
                switch (b.mdev, b.driver) {
                case (true, _): #expect(h.contains("type='mdev'"), "\(h)")
                case (false, "nvidia"): #expect(h.contains("type='pci' managed='no'"), "\(h)")
                default: #expect(h.contains("type='pci' managed='yes'"), "\(h)")
                }
            }
            var domain = LibvirtXMLTests.domain(pieces)
            domain = domain.replacingOccurrences(of: "<name>vgpuctl-test</name>", with: "<name>\(guest)</name>")
            let v = try LibvirtXMLTests.validate(domain)
            #expect(v.status == 0, "\(b.name) \(guest): \(v.stdout) \(v.stderr)")
        }
    }

    /// `qmp attach` takes a typed VF as it is: QEMU is asked for `vfio-pci` with the VF (vendor)
    /// or its mdev (sysfsdev=), and stops only at the VFIO device this machine cannot have.
    @Test(arguments: [backends[0], backends[1]]) func qmpAttachTakesATypedVF(_ b: Backend) throws {
        try HV.requireTools()
        let (root, _) = try Self.applied(b)
        let vm = try RealQEMU(["-device", "pcie-root-port,id=rp1,chassis=1"])
        let r = try HV.vg(root, ["qmp", "attach", "--socket", vm.socket, "0000:18:00.4", "--bus", "rp1"])
        #expect(r.status == 1 && r.stderr.contains("GenericError: vfio"), "\(r.stderr)")
        if b.mdev {
            #expect(r.stderr.contains("QEMU refused device_add of mdev "), "\(r.stderr)")
        } else {
            #expect(
                r.stderr.contains("QEMU refused device_add of 0000:18:00.4")
                    && r.stderr.contains("/sys/bus/pci/devices/0000:18:00.4"), "\(r.stderr)")
        }
        #expect(try vm.peripheralIDs() == ["rp1"])
        #expect(HV.driver(root, "0000:18:00.4") == "nvidia")
    }

    /// The hook at `prepare begin` / `release end` for a guest's domain XML, per backend: typed
    /// vendor/mdev VFs are ready as they are (nothing is rebound); a generic or upstream VF given
    /// back to the host beforehand is assigned by prepare and released again at release.
    @Test(arguments: backends) func hookPreparesAndReleasesAGuestsDevices(_ b: Backend) throws {
        let (root, _) = try Self.applied(b)
        let x = try HV.vg(root, ["libvirt", "xml", "--guest", "vm-a", "--json"])
        try #require(x.status == 0, "\(x.stderr)")
        let domain = LibvirtXMLTests.domain(try LibvirtXMLTests.pieces(x)).replacingOccurrences(
            of: "<name>vgpuctl-test</name>", with: "<name>vm-a</name>")
        let vfs = try SysfsReader(root: root).device(#require(PCIAddress(Self.pf)))?.sriov?.vfs ?? []
        let first = try #require(vfs.first).description
        let handed = b.driver == "vfio-pci"
        if handed {
            let r = try HV.vg(root, ["passthrough", "release", first])
            try #require(r.status == 0, "\(r.stderr)")
            #expect(HV.driver(root, first) == nil)
        }
        let before = LibvirtHookTests.devices(root)
        let p = try HV.vg(root, ["libvirt-hook", "vm-a", "prepare", "begin", "-", "--json"], stdin: domain)
        #expect(p.status == 0, "\(b.name): \(p.stderr)")
        #expect(HV.driver(root, first) == b.driver)
        if handed {
            #expect(p.stdout.contains("\"assigned\" : [\n    \"\(first)\""), "\(p.stdout)")
        } else {
            #expect(LibvirtHookTests.devices(root) == before, "prepare changed the host for typed \(b.name) VFs")
        }
        // The same XML under another guest's name: refused (exit 4), nothing changes.
        let mid = LibvirtHookTests.devices(root)
        let other = try HV.vg(
            root, ["libvirt-hook", "vm-b", "prepare", "begin", "-"],
            stdin: domain.replacingOccurrences(of: "<name>vm-a</name>", with: "<name>vm-b</name>"))
        #expect(other.status == 4 && other.stderr.contains("is for guest 'vm-a'"), "\(other.status) \(other.stderr)")
        #expect(LibvirtHookTests.devices(root) == mid)
        let r = try HV.vg(root, ["libvirt-hook", "vm-a", "release", "end", "-"], stdin: domain)
        #expect(r.status == 0, "\(r.stderr)")
        if handed { #expect(HV.driver(root, first) == nil) }
        #expect(LibvirtHookTests.devices(root) == before)
    }
}
