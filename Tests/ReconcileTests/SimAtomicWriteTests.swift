import Foundation
import HostKit
import TestSupport
import Testing

/// A simulated kernel write happens whole or not at all, whatever happens to the writer: a
/// `vgpuctl` killed (SIGKILL) before each change a write makes leaves a half-made tree that the
/// next command completes, to the tree an uninterrupted run makes.
@Suite struct SimAtomicWriteTests {
    func tree(_ root: String) -> [String: String] {
        TestSupport.fingerprint(root).filter { !$0.key.hasPrefix("var/") && !$0.key.hasPrefix("run/") }
    }

    func check(model: String, interface: String, setup: [[String]], command: [String]) throws {
        let base = TestSupport.tempDir("atomic")
        let template = base + "/template"
        #expect(
            try TestSupport.vgpuctl(["sim", "create", template, "--model", model, "--vgpu-interface", interface]).status
                == 0)
        for s in setup {
            let r = try TestSupport.vgpuctl(["--root", template] + s)
            try #require(r.status == 0, "setup \(s): \(r.stderr)")
        }
        func copy(_ to: String) throws { #expect(try TestSupport.run("/bin/cp", ["-a", template, to]).status == 0) }
        try copy(base + "/whole")
        #expect(try TestSupport.vgpuctl(["--root", base + "/whole"] + command).status == 0)
        let whole = tree(base + "/whole")
        var halfMade = 0
        var k = 1
        while true {
            let root = base + "/k\(k)"
            try copy(root)
            let r = try TestSupport.vgpuctl(
                ["--root", root] + command, environment: ["VGPUCTL_TEST_SIM_KILL_AT_EFFECT": String(k)])
            if r.status == 0 { break }  // past the last change: the command finished
            #expect(r.status == SIGKILL, "k=\(k): \(r.status) \(r.stderr)")
            #expect(
                FileManager.default.fileExists(atPath: root + "/.vgpuctl-sim-pending.json"),
                "k=\(k): the killed write left no record")
            if tree(root) != whole { halfMade += 1 }
            // Any command completes the write; running the command again completes the rest.
            #expect(try TestSupport.vgpuctl(["--root", root, "list"]).status == 0)
            #expect(!FileManager.default.fileExists(atPath: root + "/.vgpuctl-sim-pending.json"), "k=\(k)")
            let again = try TestSupport.vgpuctl(["--root", root] + command)
            #expect(again.status == 0, "k=\(k): \(again.stderr)")
            #expect(tree(root) == whole, "k=\(k): the tree differs from an uninterrupted run's")
            k += 1
        }
        #expect(k > 8, "the command made only \(k - 1) changes")
        #expect(halfMade == k - 1, "every kill left a half-made tree before the next command")
        try? FileManager.default.removeItem(atPath: base)
    }

    @Test func enablingVFsThatNvidiaProbes() throws {
        try check(
            model: "h100x8", interface: "vendor", setup: [],
            command: ["vf", "enable", "0000:18:00.0", "--count", "4", "--autoprobe"])
    }

    @Test func disablingVFsThatHoldMdevVGPUs() throws {
        let cfg = TestSupport.tempDir("atomic-cfg") + "/c.yaml"
        try
            "version: 1\nconfigs:\n  a:\n    - select: {address: \"0000:18:00.0\"}\n      mode: vgpu\n      vfs: 3\n      types: {H100XM-10C: 2}\n"
            .write(toFile: cfg, atomically: true, encoding: .utf8)
        try check(
            model: "h100x8", interface: "mdev", setup: [["apply", "-f", cfg]],
            command: ["vf", "disable", "0000:18:00.0", "--force"])
    }
}
