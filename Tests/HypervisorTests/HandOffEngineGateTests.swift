import Foundation
import HostKit
import TestSupport
import Testing

/// Stage 3's hand-off gate after `apply`: on an upstream host whose firmware misreports a typed
/// VF's channels (gsp-stub's `VGPUCTL_STUB_FWCTL_FAULT=short-channels`), the guest's VFs are not
/// handed on by `qemu args --guest`, `libvirt xml --guest` or the libvirt hook's prepare (exit 1,
/// every problem named, nothing printed on stdout, the host unchanged); with a firmware that
/// reports what the book says, the same commands succeed.
@Suite struct HandOffEngineGateTests {
    static let fault: [String: String?] = ["VGPUCTL_STUB_FWCTL_FAULT": "short-channels"]
    static let vf = "0000:18:00.4"
    static let refusal =
        "0000:18:00.4 carries H100XM-20C but is not handed on: 0000:18:00.4 (VF 0, H100XM-20C): the firmware reports 256 channels (0..<256), fewer than the 512 the book's H100XM-20C entry promises (0..<512); the firmware does not give the VF what its type needs (clear it with 'vgpuctl vf clear 0000:18:00.4' and check the GPU's firmware)"

    static func upstream() throws -> HostRoot {
        let b = try #require(TypedHandoffTests.backends.first { $0.name == "upstream" })
        return try TypedHandoffTests.applied(b).0
    }

    @Test func qemuArgsAndLibvirtXMLRefuseAMisreportedVF() throws {
        let root = try Self.upstream()
        let cases = [
            (["qemu", "args", "--guest", "vm-a", "--qemu-version", "7.2"], "host=0000:18:00.4"),
            (
                ["libvirt", "xml", "--guest", "vm-a"],
                "<address domain='0x0000' bus='0x18' slot='0x00' function='0x4'/>"
            ),
        ]
        for (args, handed) in cases {
            let bad = try HV.vg(root, args, environment: Self.fault)
            #expect(bad.status == 1, "\(args): \(bad.stdout)")
            #expect(bad.stdout.isEmpty, "\(args): \(bad.stdout)")
            #expect(bad.stderr == "vgpuctl: error: \(Self.refusal)\n", "\(args): \(bad.stderr)")
            let good = try HV.vg(root, args)
            #expect(good.status == 0 && good.stdout.contains(handed), "\(args): \(good.stderr)")
        }
    }

    @Test func hookDoesNotPrepareAMisreportedVF() throws {
        let root = try Self.upstream()
        let released = try HV.vg(root, ["passthrough", "release", Self.vf])
        try #require(released.status == 0, "\(released.stderr)")
        let domain = LibvirtHookTests.domain("vm-a", [Self.vf, "0000:18:00.5"])
        let before = LibvirtHookTests.devices(root)
        let bad = try HV.vg(
            root, ["libvirt-hook", "vm-a", "prepare", "begin", "-"], stdin: domain, environment: Self.fault)
        #expect(bad.status == 1 && bad.stderr == "vgpuctl: error: \(Self.refusal)\n", "\(bad.status) \(bad.stderr)")
        let changed = LibvirtHookTests.devices(root).filter { before[$0.key] != $0.value }.keys.sorted()
        #expect(changed.isEmpty, "a refused prepare changed the host: \(changed)")
        #expect(HV.driver(root, Self.vf) == nil, "the VF stays unbound")
        let good = try HV.vg(root, ["libvirt-hook", "vm-a", "prepare", "begin", "-"], stdin: domain)
        #expect(good.status == 0, "\(good.stderr)")
        #expect(HV.driver(root, Self.vf) == "vfio-pci")
    }
}
