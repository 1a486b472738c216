import Foundation
import TestSupport
import Testing

/// A real libvirtd (11.3 from bookworm-backports, unpacked beside the system's libvirt 9.0
/// clients) inside the Tests/RealKernel guest runs vgpuctl's libvirt hook for a TCG guest whose
/// XML (vgpuctl's `libvirt xml --unmanaged`) names a real VF: `prepare begin` binds it, QEMU 10
/// starts with it, `release end` after `virsh destroy` gives it back, and `virsh
/// domxml-to-native` shows vgpuctl's `-device` (Tests/Scenarios/libvirtd_hook_e2e.py).
@Suite(.serialized) struct LibvirtdRealKernelTests {
    @Test func aRealLibvirtdRunsTheHook() throws {
        let repo = RealKernelTests.repo
        let q10 = try NewerKernelTests.qemu10()
        let lv = try TestSupport.run("/bin/bash", [repo + "/Tests/Scenarios/install-libvirt11.sh"])
        try #require(lv.status == 0, "install-libvirt11.sh failed (exit \(lv.status)):\n\(lv.stdout)\n\(lv.stderr)")
        let root = lv.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        // The guest mounts tmpfs over libvirt's directories; they must exist on the (read-only) host root.
        for d in ["/etc/libvirt", "/var/lib/libvirt", "/var/cache/libvirt", "/var/log/libvirt"] {
            try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        }
        let r = try RealKernelTests.runInGuest(
            """
            /usr/bin/python3 "$REPO/Tests/Scenarios/libvirtd_hook_e2e.py" "$V" 0000:00:03.0 \(q10) '\(root)' "$REPO"
            """, timeout: 900)
        #expect(r.status == 0, "guest run failed (exit \(r.status)):\n\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("PASS: 0 failed") && !r.stdout.contains("not ok"), "\(r.stdout)")
        #expect(r.stdout.contains("ok - libvirt called the hook at prepare begin"), "\(r.stdout)")
    }
}
