import Foundation
import TestSupport
import Testing

/// vgpuctl on a real Linux kernel: a stock Debian kernel booted under QEMU (TCG, q35 with
/// emulated VT-d, an emulated NVMe PF with 4 VFs), the host root shared read-only so the guest
/// runs the very binary built here. See Tests/RealKernel/README.md.
///
/// A boot that fails is a test failure with the guest's console log, never a skip.
@Suite(.serialized) struct RealKernelTests {
    static let repo = TestSupport.repositoryDirectory

    /// Installs QEMU, the kernel of `suite` (bookworm, trixie, sid) and busybox when missing,
    /// and builds the initramfs. A failed download fails the test.
    static func prepare(suite: String = "bookworm") throws {
        let r = try TestSupport.run(
            "/bin/bash", [repo + "/Tests/RealKernel/prepare.sh"], environment: ["VGTEST_SUITE": suite])
        try #require(
            r.status == 0, "Tests/RealKernel/prepare.sh (\(suite)) failed (exit \(r.status)):\n\(r.stdout)\n\(r.stderr)"
        )
    }

    /// Boots the guest and runs `body` (shell) inside it with `V` set to the vgpuctl built for
    /// this test run. Returns the guest's output; fails with the console log on a bad boot.
    static func runInGuest(_ body: String, suite: String = "bookworm", timeout: Int = 600) throws -> TestSupport.Result
    {
        try prepare(suite: suite)
        // The guest sees the host's files but mounts its own /tmp: put the script in the build folder.
        let script = TestSupport.productsDirectory + "/realkernel-guest-\(UUID().uuidString.prefix(8)).sh"
        let text = """
            REPO=\(repo)
            V=\(TestSupport.vgpuctl)
            export REPO V
            \(body)
            """
        try text.write(toFile: script, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: script) }
        return try TestSupport.run(
            "/bin/bash", [repo + "/Tests/RealKernel/run-guest.sh", script, String(timeout)],
            environment: ["VGTEST_SUITE": suite])
    }

    @Test func scenarioSuiteAndNestedQEMUOnARealKernel() throws {
        let r = try Self.runInGuest(
            """
            rc=0
            echo "== vgpuctl list --all"; "$V" list --all || rc=1
            echo "==LIST-JSON-BEGIN"; "$V" list --all --json || rc=1; echo "==LIST-JSON-END"
            echo "== scenario: SR-IOV and passthrough"
            /usr/bin/python3 "$REPO/Tests/Scenarios/sriov_passthrough.py" "$V" / 0000:00:03.0 || rc=1
            echo "== end to end: a VF in a nested QEMU"
            /usr/bin/python3 "$REPO/Tests/Scenarios/qemu_vfio_e2e.py" "$V" / 0000:00:03.0 || rc=1
            echo "== scenario: plan, apply, assert"
            mkdir -p /tmp/reconcile && /usr/bin/python3 "$REPO/Tests/Scenarios/reconcile.py" "$V" / 0000:00:03.0 /tmp/reconcile || rc=1
            echo "== scenario: a process holds /dev/nvme0, passthrough assign is refused"
            /usr/bin/python3 "$REPO/Tests/Scenarios/in_use.py" "$V" / 0000:00:03.0 || rc=1
            echo "== end to end: config, apply, qemu args --guest, nested QEMU"
            /usr/bin/python3 "$REPO/Tests/Scenarios/guest_handoff_e2e.py" "$V" / 0000:00:03.0 /tmp/reconcile || rc=1
            exit $rc
            """, timeout: 900)
        #expect(r.status == 0, "guest run failed (exit \(r.status)):\n\(r.stdout)\n\(r.stderr)")
        #expect(
            r.stdout.components(separatedBy: "PASS: 0 failed").count == 6,
            "all five suites must report PASS:\n\(r.stdout)")
        #expect(!r.stdout.contains("not ok"), "\(r.stdout)")

        // The simulated copy of this guest (model qemu-nvme) must list the same devices.
        let real = try Self.devices(between: "==LIST-JSON-BEGIN", and: "==LIST-JSON-END", in: r.stdout)
        let sim = try TestSupport.simHost("qemu-nvme")
        let s = try TestSupport.vgpuctl(["--root", sim.path, "list", "--all", "--json"])
        let simulated = try Self.devices(json: s.stdout)
        #expect(simulated == real, "the qemu-nvme model disagrees with the real guest")
    }

    /// The identity, driver, group and SR-IOV totals of each listed device, by address.
    static func devices(json: String) throws -> [String: String] {
        let obj = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        let devs = obj?["devices"] as? [[String: Any]] ?? []
        var out: [String: String] = [:]
        for d in devs {
            let sriov = d["sriov"] as? [String: Any]
            out[d["address"] as? String ?? "?"] = [
                d["vendorID"], d["deviceID"], d["class"], d["driver"], d["iommuGroup"],
                sriov?["totalVFs"], sriov?["numVFs"],
            ].map { "\($0 ?? "nil")" }.joined(separator: " ")
        }
        return out
    }

    static func devices(between begin: String, and end: String, in text: String) throws -> [String: String] {
        guard let b = text.range(of: begin + "\n"), let e = text.range(of: end, range: b.upperBound..<text.endIndex)
        else {
            Issue.record("no JSON between \(begin) and \(end) in the guest output")
            return [:]
        }
        return try devices(json: String(text[b.upperBound..<e.lowerBound]))
    }
}
