import Foundation
import HostKit
import TestSupport
import Testing

/// vgpuctl answering NVIDIA vgpu-device-manager's command line (`nvidia-vgpu-dm`, as NVIDIA's
/// `nvidia-k8s-vgpu-dm` runs it) with NVIDIA's example config file on simulated hosts.
@Suite struct VGPUDMTests {
    static let example = TestSupport.sharedFile("data/vgpu-device-manager-config-example.yaml")

    /// A `nvidia-vgpu-dm` symlink to the built vgpuctl, as an operator installs it on PATH.
    static func dmBinary() throws -> String {
        let dir = TestSupport.tempDir("dm-bin")
        let link = dir + "/nvidia-vgpu-dm"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: TestSupport.vgpuctl)
        return link
    }

    static func host(_ interface: String) throws -> String {
        let dir = TestSupport.tempDir("dm") + "/host"
        let c = try TestSupport.vgpuctl(["sim", "create", dir, "--model", "h100x8", "--vgpu-interface", interface])
        #expect(c.status == 0, "\(c.stderr)")
        return dir
    }

    /// The controller's sequence: valid-config, assert (not applied: 1), `-d apply` (0), assert
    /// (0); the VFs then carry the type in the driver's own file.
    @Test func operatorSequenceAppliesSRIOVTypesWithNVIDIAExitCodes() throws {
        #expect(
            FileManager.default.fileExists(atPath: Self.example),
            "NVIDIA's example config is missing at \(Self.example)")
        let dm = try Self.dmBinary()
        let dir = try Self.host("vendor")
        let env: [String: String?] = ["VGPUCTL_ROOT": dir]
        let valid = try TestSupport.run(
            dm, ["assert", "--valid-config", "-f", Self.example, "-c", "H100XM-20C"], environment: env)
        #expect(valid.status == 0, "\(valid.stderr)")
        let before = try TestSupport.run(dm, ["assert", "-f", Self.example, "-c", "H100XM-20C"], environment: env)
        #expect(
            before.status == 1 && before.stderr.contains("not currently applied"), "\(before.status) \(before.stderr)")
        let apply = try TestSupport.run(dm, ["-d", "apply", "-f", Self.example, "-c", "H100XM-20C"], environment: env)
        #expect(apply.status == 0, "\(apply.stderr)")
        #expect(apply.stderr.contains("0000:18:00.0"), "-d shows the steps: \(apply.stderr)")
        let after = try TestSupport.run(dm, ["assert", "-f", Self.example, "-c", "H100XM-20C"], environment: env)
        #expect(after.status == 0, "\(after.stderr)")

        // Every GPU carries four H100XM-20C VFs, as the driver reports them.
        let vfs = try TestSupport.vgpuctl(["--root", dir, "vf", "list", "--json"])
        let obj = try JSONSerialization.jsonObject(with: Data(vfs.stdout.utf8)) as? [String: Any]
        let pfs = obj?["pfs"] as? [[String: Any]] ?? []
        #expect(pfs.count == 8 && pfs.allSatisfy { ($0["numVFs"] as? Int) == 4 }, "\(vfs.stdout)")
        let sys = HostRoot(dir)
        let typed = SysfsReader(root: sys).allDevices().filter { $0.isVF }.compactMap {
            SysfsReader(root: sys).text(HostRoot.deviceFile($0.address, "nvidia/current_vgpu_type"))
        }
        #expect(typed.count == 32 && Set(typed).count == 1 && typed.first != "0", "\(typed)")

        // A second apply is a no-op and exits 0.
        let again = try TestSupport.run(dm, ["apply", "-f", Self.example, "-c", "H100XM-20C"], environment: env)
        #expect(again.status == 0 && again.stderr.contains("already applied"), "\(again.stderr)")
    }

    /// Every failure exits 1, as NVIDIA's tool does (it ends through log.Fatal), and changes
    /// nothing: unknown config, several configs and no -c, a malformed file (file:line:column),
    /// no -f, a type the GPUs do not have.
    @Test func failuresExitOneAndChangeNothing() throws {
        let dm = try Self.dmBinary()
        let dir = try Self.host("vendor")
        let env: [String: String?] = ["VGPUCTL_ROOT": dir]
        let before = TestSupport.fingerprint(dir)
        let bad = TestSupport.tempDir("dm-bad") + "/bad.yaml"
        try "version: v1\nvgpu-configs:\n  a:\n    - devices: all\n      vgpu-devices: [oops\n".write(
            toFile: bad, atomically: true, encoding: .utf8)
        let cases: [([String], String)] = [
            (["assert", "--valid-config", "-f", Self.example, "-c", "NO-SUCH-CONFIG"], "NO-SUCH-CONFIG"),
            (["assert", "--valid-config", "-f", Self.example], "selected-config"),
            (["assert", "-a", "-f", bad, "-c", "a"], "bad.yaml:"),
            (["apply", "-c", "H100XM-20C"], "config-file"),
            (["apply", "-f", Self.example, "-c", "A10-4C"], "A10-4C"),
            (["apply", "-f", Self.example, "--bogus"], "--bogus"),
        ]
        for (args, needle) in cases {
            let r = try TestSupport.run(dm, args, environment: env)
            #expect(r.status == 1, "\(args): \(r.status) \(r.stderr)")
            #expect(
                r.stderr.contains(needle)
                    && r.stderr.split(separator: "\n").contains { $0.hasPrefix("nvidia-vgpu-dm: error:") },
                "\(args): \(r.stderr)")
        }
        #expect(TestSupport.fingerprint(dir) == before, "a failed nvidia-vgpu-dm run changed the host")
    }

    /// `vgpuctl vgpu-dm` is the same command line; NVIDIA's environment variables work too.
    @Test func subcommandAndEnvironment() throws {
        let dir = try Self.host("mdev")
        let r = try TestSupport.vgpuctl(
            ["--root", dir, "vgpu-dm", "apply"],
            environment: ["VGPU_DM_CONFIG_FILE": Self.example, "VGPU_DM_SELECTED_CONFIG": "H100XM-10C"])
        #expect(r.status == 0, "\(r.stderr)")
        let a = try TestSupport.vgpuctl(
            ["vgpu-dm", "assert", "-f", Self.example, "-c", "H100XM-10C"], environment: ["VGPUCTL_ROOT": dir])
        #expect(a.status == 0, "\(a.stderr)")
        let other = try TestSupport.vgpuctl(
            ["vgpu-dm", "assert", "-f", Self.example, "-c", "H100XM-20C"], environment: ["VGPUCTL_ROOT": dir])
        #expect(other.status == 1, "\(other.stderr)")
    }
}
