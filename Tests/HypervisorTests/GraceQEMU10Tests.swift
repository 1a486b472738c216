import Foundation
import TestSupport
import Testing

/// vgpuctl's Grace and EGM arguments for the simulated Grace hosts, started by a real QEMU 10
/// (bookworm-backports, unpacked by Tests/Scenarios/install-qemu10.sh): each GPU stood in by a
/// `pci-testdev` with vgpuctl's id, each EGM node by a sparse file of the size vgpuctl computed.
/// The SRAT QEMU builds must bind every generic initiator to its GPU and node and give every
/// EGM node its size (Tests/Scenarios/grace_qemu10.py).
@Suite struct GraceQEMU10Tests {
    @Test(arguments: ["gh200x4", "gb200x4"])
    func graceArgumentsRunInQEMU10(model: String) throws {
        let repo = TestSupport.repositoryDirectory
        let install = try TestSupport.run("/bin/bash", [repo + "/Tests/Scenarios/install-qemu10.sh"])
        try #require(
            install.status == 0,
            "install-qemu10.sh failed (exit \(install.status)):\n\(install.stdout)\n\(install.stderr)")
        let q10 = install.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        // Not under /tmp's tmpfs quota: the EGM files are sparse but hundreds of GiB long.
        let work = "/var/tmp/vgpuctl-grace-\(model)-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: work) }
        let r = try TestSupport.run(
            "/usr/bin/python3", [repo + "/Tests/Scenarios/grace_qemu10.py", TestSupport.vgpuctl, q10, model, work],
            timeout: 600)
        #expect(r.status == 0, "\(model): exit \(r.status)\n\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("PASS: 0 failed") && !r.stdout.contains("not ok"), "\(r.stdout)")
        #expect(r.stdout.contains("ok - the SRAT binds each generic initiator"), "\(r.stdout)")
    }
}
