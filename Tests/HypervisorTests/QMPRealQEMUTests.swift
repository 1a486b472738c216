import Foundation
import HostKit
import Hypervisor
import TestSupport
import Testing

/// `vgpuctl qmp` against the real QEMU 7.2 of this machine, with devices that need no host
/// hardware to show the protocol: a USB keyboard (QEMU unplugs it at once and reports
/// DEVICE_DELETED), a PCIe test device behind a root port (its unplug needs a guest OS, which a
/// VM stopped with -S never runs, so the guest does not release it), and vfio-pci device_add
/// errors. A real VF is hot-plugged inside the real-kernel guest (HotplugRealKernelTests).
@Suite(.serialized) struct QMPRealQEMUTests {
    static let devices = [
        "-device", "qemu-xhci,id=xhci", "-device", "usb-kbd,id=kbd0",
        "-device", "pcie-root-port,id=rp1,chassis=1", "-device", "pci-testdev,id=t0,bus=rp1",
        "-device", "pcie-root-port,id=rp2,chassis=2",
    ]

    @Test func detachSucceedsOnlyOnDeviceDeleted() throws {
        try HV.requireTools()
        let vm = try RealQEMU(Self.devices)
        let r = try TestSupport.vgpuctl(["qmp", "detach", "--socket", vm.socket, "--id", "kbd0", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("\"id\" : \"kbd0\""), "\(r.stdout)")
        let again = try TestSupport.vgpuctl(["qmp", "detach", "--socket", vm.socket, "--id", "kbd0"])
        #expect(again.status == 2 && again.stderr.contains("the VM has no device with id kbd0"), "\(again.stderr)")
    }

    @Test func aGuestThatDoesNotReleaseLeavesTheDeviceInPlace() throws {
        try HV.requireTools()
        let vm = try RealQEMU(Self.devices)
        let start = Date()
        let r = try TestSupport.vgpuctl(["qmp", "detach", "--socket", vm.socket, "--id", "t0", "--timeout", "1.5"])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(
            r.stderr.contains("the guest did not release t0 within 1.5 s") && HV.lines(r.stderr).count == 1,
            "\(r.stderr)")
        #expect(Date().timeIntervalSince(start) >= 1.5)
        #expect(try vm.peripheralIDs().contains("t0"), "t0 is still in the VM")
        let gone = try TestSupport.vgpuctl(["qmp", "detach", "--socket", vm.socket, "--id", "nope"])
        #expect(gone.status == 2 && gone.stderr.contains("the VM has no device with id nope"), "\(gone.stderr)")
    }

    @Test func attachShowsQEMUsErrorClassAndDescription() throws {
        try HV.requireTools()
        let vm = try RealQEMU(Self.devices)
        let root = try HV.host("mixed", assigned: ["0000:01:00.0"])
        let before = TestSupport.fingerprint(root.path)
        // q35's root bus cannot hot-plug.
        let noBus = try HV.vg(root, ["qmp", "attach", "--socket", vm.socket, "0000:01:00.0"])
        #expect(noBus.status == 1, "\(noBus.stderr)")
        #expect(
            noBus.stderr.contains(
                "QEMU refused device_add of 0000:01:00.0 as hostdev-0000-01-00.0: GenericError: Bus 'pcie.0' does not support hotplugging"
            ), "\(noBus.stderr)")
        // A root port can, but this machine has no such host device for VFIO.
        let noDev = try HV.vg(root, ["qmp", "attach", "--socket", vm.socket, "0000:01:00.0", "--bus", "rp2"])
        #expect(
            noDev.status == 1 && noDev.stderr.contains("GenericError: vfio") && noDev.stderr.contains("0000:01:00.0"),
            "\(noDev.stderr)")
        // A taken id, an unassigned device and a Grace GPU are refused before QEMU is asked.
        let taken = try HV.vg(
            root, ["qmp", "attach", "--socket", vm.socket, "0000:01:00.0", "--id", "t0", "--bus", "rp2"])
        #expect(taken.status == 2 && taken.stderr.contains("already has a device with id t0"), "\(taken.stderr)")
        let unassigned = try HV.vg(root, ["qmp", "attach", "--socket", vm.socket, "0000:02:00.0", "--bus", "rp2"])
        #expect(unassigned.status == 2 && unassigned.stderr.contains("not assigned"), "\(unassigned.stderr)")
        let grace = try HV.host("gh200x4", assigned: ["0009:01:00.0"])
        let g = try HV.vg(grace, ["qmp", "attach", "--socket", vm.socket, "0009:01:00.0", "--bus", "rp2"])
        #expect(g.status == 2 && g.stderr.contains("cannot be hot-plugged"), "\(g.stderr)")
        // Nothing was added.
        #expect(try vm.peripheralIDs() == ["xhci", "kbd0", "rp1", "t0", "rp2"])
        let list = try TestSupport.vgpuctl(["qmp", "list", "--socket", vm.socket])
        #expect(list.status == 0 && list.stdout.contains("the VM has no VFIO devices"), "\(list.stdout)\(list.stderr)")
        #expect(TestSupport.fingerprint(root.path) == before)
    }
}
