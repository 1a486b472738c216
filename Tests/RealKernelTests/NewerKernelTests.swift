import Foundation
import TestSupport
import Testing

/// The same scenario suite on Debian 13's Linux 6.12 (trixie) and sid's newest kernel (7.2 on
/// 2026-12-04), one TCG boot each, plus a real VF handed to QEMU 10 from bookworm-backports and
/// iommufd as each kernel exposes it (Tests/Scenarios/qemu10_e2e.py). What the kernels do
/// differently is in Tests/RealKernel/OBSERVED.md. A failed download or boot fails the test.
@Suite(.serialized) struct NewerKernelTests {
    /// Unpacks QEMU 10 (bookworm-backports) next to the system QEMU 7.2; returns its wrapper.
    static func qemu10() throws -> String {
        let r = try TestSupport.run("/bin/bash", [RealKernelTests.repo + "/Tests/Scenarios/install-qemu10.sh"])
        try #require(
            r.status == 0, "Tests/Scenarios/install-qemu10.sh failed (exit \(r.status)):\n\(r.stdout)\n\(r.stderr)")
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test(arguments: [("trixie", "6.12."), ("sid", "7.")])
    func scenarioSuiteAndQEMU10(suite: String, release: String) throws {
        let q10 = try Self.qemu10()
        let r = try RealKernelTests.runInGuest(
            """
            rc=0
            echo "==KERNEL $(uname -r)"
            echo "==LIST-JSON-BEGIN"; "$V" list --all --json || rc=1; echo "==LIST-JSON-END"
            echo "== scenario: SR-IOV and passthrough"
            /usr/bin/python3 "$REPO/Tests/Scenarios/sriov_passthrough.py" "$V" / 0000:00:03.0 || rc=1
            echo "== end to end: a VF in a nested QEMU 7.2"
            /usr/bin/python3 "$REPO/Tests/Scenarios/qemu_vfio_e2e.py" "$V" / 0000:00:03.0 || rc=1
            echo "== scenario: plan, apply, assert"
            mkdir -p /tmp/reconcile && /usr/bin/python3 "$REPO/Tests/Scenarios/reconcile.py" "$V" / 0000:00:03.0 /tmp/reconcile || rc=1
            echo "== scenario: a process holds /dev/nvme0, passthrough assign is refused"
            /usr/bin/python3 "$REPO/Tests/Scenarios/in_use.py" "$V" / 0000:00:03.0 || rc=1
            echo "== QEMU 10 and iommufd"
            /usr/bin/python3 "$REPO/Tests/Scenarios/qemu10_e2e.py" "$V" / 0000:00:03.0 \(q10) || rc=1
            exit $rc
            """, suite: suite, timeout: 1200)
        #expect(r.status == 0, "\(suite) guest run failed (exit \(r.status)):\n\(r.stdout)\n\(r.stderr)")
        #expect(
            r.stdout.contains("==KERNEL \(release)"), "the \(suite) guest must run a \(release)x kernel:\n\(r.stdout)")
        #expect(
            r.stdout.components(separatedBy: "PASS: 0 failed").count == 6,
            "all five suites must report PASS:\n\(r.stdout)")
        #expect(!r.stdout.contains("not ok"), "\(r.stdout)")

        // The simulated copy of this guest (model qemu-nvme) must list the same devices.
        let real = try RealKernelTests.devices(between: "==LIST-JSON-BEGIN", and: "==LIST-JSON-END", in: r.stdout)
        let sim = try TestSupport.simHost("qemu-nvme")
        let s = try TestSupport.vgpuctl(["--root", sim.path, "list", "--all", "--json"])
        #expect(
            try RealKernelTests.devices(json: s.stdout) == real, "the qemu-nvme model disagrees with the \(suite) guest"
        )
    }
}
