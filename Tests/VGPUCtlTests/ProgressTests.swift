import Foundation
import HostKit
import HostSim
import TestSupport
import Testing

/// Progress on stderr: shown when stderr is a terminal (a pty made by util-linux `script`),
/// absent on a pipe and with `--json`.
@Suite struct ProgressTests {
    /// Runs vgpuctl with its stdout and stderr on a new pty; returns what the terminal got.
    static func onTerminal(_ arguments: [String]) throws -> TestSupport.Result {
        let script = try #require(
            TestSupport.which("script"), "util-linux 'script' is missing (apt-get install -y bsdutils)")
        let command = ([TestSupport.vgpuctl] + arguments).map { "'\($0)'" }.joined(separator: " ")
        return try TestSupport.run(script, ["-qec", command, "/dev/null"], timeout: 120)
    }

    static func config(_ body: String) throws -> String {
        let path = TestSupport.tempDir("progress") + "/host.yaml"
        try ("version: 1\nconfigs:\n  a:\n" + body).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static let allVGPU = "    - select: all\n      mode: vgpu\n      types: {H100XM-20C: 4}\n"

    static func vendorHost() throws -> String {
        let dir = TestSupport.tempDir("progress-sim") + "/host"
        let r = try TestSupport.vgpuctl(["sim", "create", dir, "--model", "h100x8", "--vgpu-interface", "vendor"])
        #expect(r.status == 0, "\(r.stderr)")
        return dir
    }

    /// The progress lines, as the terminal would redraw them.
    static func progressLines(_ text: String) -> [String] {
        text.components(separatedBy: "\r\u{1B}[K").filter {
            $0.hasPrefix("vgpuctl: ") && !$0.hasPrefix("vgpuctl: error")
        }
    }

    @Test func applyOnManyGPUsShowsEachStepAndTheVFWaitOnATerminal() throws {
        let root = try Self.vendorHost()
        let r = try Self.onTerminal(["--root", root, "apply", "-f", try Self.config(Self.allVGPU)])
        #expect(r.status == 0, "\(r.stdout)")
        let lines = Self.progressLines(r.stdout)
        #expect(
            lines.contains { $0.hasPrefix("vgpuctl: apply 'a': step 1/40: enable 4 VFs on 0000:18:00.0") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("vgpuctl: apply 'a': step 40/40: give ") }, "\(lines)")
        #expect(
            lines.contains { $0.hasPrefix("vgpuctl: waiting for the kernel to create 4 VFs of 0000:18:00.0 (") },
            "\(lines)")
        // Each line says for how long: "(0.2 s" or "(0.0 s, 1.3 s in all)".
        #expect(
            lines.allSatisfy {
                $0.range(of: #"\(\d+\.\d s(, \d+\.\d s in all)?\)$"#, options: .regularExpression) != nil
            }, "\(lines)")
        // The result still reaches the terminal, after the progress line was cleared.
        #expect(r.stdout.contains("applied config 'a': 40 steps"), "\(r.stdout)")
    }

    @Test func noProgressOnAPipeOrWithJSON() throws {
        let cfg = try Self.config(Self.allVGPU)
        let piped = try TestSupport.vgpuctl(["--root", try Self.vendorHost(), "apply", "-f", cfg])
        #expect(piped.status == 0)
        #expect(piped.stderr.isEmpty, "stderr on a pipe: \(piped.stderr)")
        #expect(piped.stdout.contains("applied config 'a': 40 steps"))
        let json = try Self.onTerminal(["--root", try Self.vendorHost(), "apply", "-f", cfg, "--json"])
        #expect(json.status == 0)
        #expect(Self.progressLines(json.stdout).isEmpty && !json.stdout.contains("\u{1B}[K"), "\(json.stdout)")
        #expect(json.stdout.contains("\"converged\" : false"))
    }

    @Test func vfEnableShowsTheWaitOnATerminalOnly() throws {
        let root = try Self.vendorHost()
        let r = try Self.onTerminal(["--root", root, "vf", "enable", "0000:18:00.0", "--count", "2"])
        #expect(r.status == 0, "\(r.stdout)")
        #expect(
            Self.progressLines(r.stdout).contains {
                $0.hasPrefix("vgpuctl: waiting for the kernel to create 2 VFs of 0000:18:00.0 (")
            }, "\(r.stdout)")
        let piped = try TestSupport.vgpuctl(["--root", root, "vf", "enable", "0000:19:00.0", "--count", "2"])
        #expect(piped.status == 0 && piped.stderr.isEmpty, "\(piped.stderr)")
    }

    @Test func bootReadinessShowsWhatIsPendingAndForHowLong() throws {
        let root = try TestSupport.simHost("mixed")
        try SimulatedKernel(root: root).write("0000:02:00.0", to: .unbind(driver: "nvidia"))
        let cfg = try Self.config("    - select: {address: \"0000:02:00.0\"}\n      mode: vgpu\n      vfs: 2\n")
        let r = try Self.onTerminal(["--root", root.path, "apply", "-f", cfg, "--wait-ready", "1"])
        #expect(r.status == 1, "\(r.stdout)")
        let lines = Self.progressLines(r.stdout).filter {
            $0.hasPrefix("vgpuctl: waiting for devices to be ready: 0000:02:00.0 has no driver bound yet (")
        }
        #expect(!lines.isEmpty, "\(r.stdout)")
        // It ticks while it waits: a redraw after half a second says so.
        let seconds = lines.compactMap { l -> Double? in
            guard let open = l.lastIndex(of: "(") else { return nil }
            return Double(l[l.index(after: open)...].prefix { $0 != " " })
        }
        #expect(seconds.contains { $0 >= 0.5 }, "\(lines)")
        #expect(r.stdout.contains("vgpuctl: error: devices not ready after"), "\(r.stdout)")
        // On a pipe: only the error line.
        let piped = try TestSupport.vgpuctl(["--root", root.path, "apply", "-f", cfg, "--wait-ready", "0.3"])
        #expect(piped.status == 1)
        #expect(
            piped.stderr.split(separator: "\n").count == 1
                && piped.stderr.hasPrefix("vgpuctl: error: devices not ready"), "\(piped.stderr)")
    }
}
