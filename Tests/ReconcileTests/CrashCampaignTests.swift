import Foundation
import HostKit
import Reconcile
import TestSupport
import Testing

/// The crash campaign: `apply` killed with SIGKILL at random moments, on every simulated model
/// that has GPUs, with every vGPU interface; after the next command (`apply` again) the host
/// matches the config, no interrupted apply or simulated write is left, and no device is left
/// unbound. Half the runs kill at a chosen change inside a simulated kernel write
/// (`VGPUCTL_TEST_SIM_KILL_AT_EFFECT`), half after a random delay.
///
/// Seeds are fixed: run `runs` seeds per combination (`VGPUCTL_CRASH_RUNS` raises it for a
/// longer campaign; `VGPUCTL_CRASH_SEED` replays one seed). A failure names its seed.
@Suite struct CrashCampaignTests {
    struct Combo: Sendable, CustomStringConvertible {
        var model: String
        var interface: String
        var description: String { "\(model)/\(interface)" }
    }

    /// The models with GPUs (qemu-nvme has none) with every interface; the Grace models have no
    /// SR-IOV, so they take whole-GPU passthrough only and the interface does not matter.
    static let combos: [Combo] =
        ["h100x8", "mixed"].flatMap { m in
            ["vendor", "mdev", "upstream", "none"].map { Combo(model: m, interface: $0) }
        }
        + [Combo(model: "gh200x4", interface: "none"), Combo(model: "gb200x4", interface: "none")]

    /// Seeds per combination in the test suite (40 runs in all): about two minutes on two
    /// loaded cores. The README's testing section records this count.
    static let runs = 4

    /// A small deterministic generator (SplitMix64), so a seed replays the same run.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    func vg(_ root: String, _ args: [String], env: [String: String?] = [:]) throws -> TestSupport.Result {
        try TestSupport.vgpuctl(["--root", root] + args, environment: env, timeout: 300)
    }

    /// The config for a combination: the shape (two GPUs with VFs and types, two passed
    /// through) where the host has SR-IOV GPUs; passthrough otherwise.
    func config(_ c: Combo, root: String) throws -> String {
        func typeName(_ pf: String) throws -> String {
            let r = try vg(root, ["profile", "list", pf, "--json"])
            let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
            let types = (obj?["gpus"] as? [[String: Any]])?.first?["types"] as? [[String: Any]]
            return try #require(
                types?.first?["name"] as? String, "no vGPU type on \(pf) of \(c): \(r.stdout) \(r.stderr)")
        }
        func vgpu(_ pf: String, vfs: Int, typed: Int) throws -> String {
            let types =
                c.interface == "none" ? "      vfioHandoff: true\n" : "      types: {\(try typeName(pf)): \(typed)}\n"
            return "    - select: {address: \"\(pf)\"}\n      mode: vgpu\n      vfs: \(vfs)\n" + types
        }
        func pt(_ a: String) -> String { "    - select: {address: \"\(a)\"}\n      mode: passthrough\n" }
        var rules: String
        switch c.model {
        case "h100x8":
            rules =
                try vgpu("0000:18:00.0", vfs: 6, typed: 4) + vgpu("0000:19:00.0", vfs: 6, typed: 2) + pt("0000:3a:00.0")
                + pt("0000:3b:00.0")
        case "mixed":
            rules =
                try vgpu("0000:01:00.0", vfs: 4, typed: 2) + vgpu("0000:02:00.0", vfs: 2, typed: 1) + pt("0000:03:00.0")
        case "gh200x4": rules = pt("0009:01:00.0") + pt("0019:01:00.0")
        default: rules = pt("0008:01:00.0") + pt("0018:01:00.0")
        }
        let path = TestSupport.tempDir("crash-cfg") + "/host.yaml"
        try ("version: 1\nconfigs:\n  a:\n" + rules + "    - select: all\n      mode: host\n").write(
            toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func copyTree(_ from: String, _ to: String) throws {
        let r = try TestSupport.run("/bin/cp", ["-a", from, to])
        #expect(r.status == 0, "cp: \(r.stderr)")
    }

    @Test(arguments: combos)
    func killedApplyRecoversOnTheNextCommand(_ combo: Combo) throws {
        let base = TestSupport.tempDir("crash-\(combo.model)-\(combo.interface)")
        let template = base + "/template"
        let c = try TestSupport.vgpuctl([
            "sim", "create", template, "--model", combo.model, "--vgpu-interface", combo.interface,
        ])
        try #require(c.status == 0, "\(c.stderr)")
        let cfg = try config(combo, root: template)
        // One uninterrupted apply on a copy: the delay range of the timed kills.
        try copyTree(template, base + "/probe")
        let t0 = ContinuousClock.now
        let full = try vg(base + "/probe", ["apply", "-f", cfg])
        let fullTime = ContinuousClock.now - t0
        try #require(full.status == 0, "\(combo): the uninterrupted apply failed: \(full.stderr)")
        // What an uninterrupted apply leaves without a driver on purpose (VFs that wait for a
        // type's hand-off); nothing else may be unbound after a crash.
        let unboundByDesign = Set(
            SysfsReader(root: HostRoot(base + "/probe")).allDevices().filter { !$0.isBridge && $0.driver == nil }.map(
                \.address))
        #expect(
            SysfsReader(root: HostRoot(base + "/probe")).allDevices().filter {
                $0.physfn == nil && !$0.isBridge && $0.driver == nil
            }.isEmpty)

        let env = ProcessInfo.processInfo.environment
        let comboIndex = UInt64(Self.combos.firstIndex { $0.description == combo.description } ?? 0)
        let seeds: [UInt64]
        if let s = env["VGPUCTL_CRASH_SEED"].flatMap(UInt64.init) {
            seeds = [s]
        } else {
            let n = env["VGPUCTL_CRASH_RUNS"].flatMap(Int.init) ?? Self.runs
            seeds = (0..<UInt64(n)).map { comboIndex * 1000 + $0 }
        }
        var killed = 0
        for seed in seeds {
            var rng = SplitMix(state: seed)
            let root = base + "/run-\(seed)"
            try copyTree(template, root)
            let what =
                "\(combo) seed \(seed) (replay: VGPUCTL_CRASH_SEED=\(seed) swift test --filter CrashCampaignTests)"
            let status: Int32
            if seed % 2 == 0 {
                // Inside a simulated kernel write, at a chosen change.
                let at = Int.random(in: 1...60, using: &rng)
                status = try vg(root, ["apply", "-f", cfg], env: ["VGPUCTL_TEST_SIM_KILL_AT_EFFECT": String(at)]).status
            } else {
                // At a random moment.
                let ms = Int.random(
                    in:
                        0...max(
                            1,
                            Int(
                                fullTime.components.seconds * 1000 + fullTime.components.attoseconds
                                    / 1_000_000_000_000_000)), using: &rng)
                let p = Process()
                p.executableURL = URL(fileURLWithPath: TestSupport.vgpuctl)
                p.arguments = ["--root", root, "apply", "-f", cfg]
                p.standardOutput = FileHandle.nullDevice
                p.standardError = FileHandle.nullDevice
                try p.run()
                usleep(useconds_t(ms * 1000))
                kill(p.processIdentifier, SIGKILL)
                p.waitUntilExit()
                status = p.terminationStatus
            }
            if status == SIGKILL { killed += 1 } else { #expect(status == 0, "\(what): apply exited \(status)") }

            let next = try vg(root, ["apply", "-f", cfg])
            #expect(next.status == 0, "\(what): the next apply failed: \(next.stderr)")
            let a = try vg(root, ["assert", "-f", cfg])
            #expect(a.status == 0, "\(what): the host does not match after the next apply: \(a.stdout)")
            #expect(
                !FileManager.default.fileExists(atPath: root + "/" + Journal.file),
                "\(what): an interrupted apply is left")
            #expect(
                !FileManager.default.fileExists(atPath: root + "/.vgpuctl-sim-pending.json"),
                "\(what): a simulated write is left half done")
            let s = SysfsReader(root: HostRoot(root))
            let unbound = Set(s.allDevices().filter { !$0.isBridge && $0.driver == nil }.map(\.address))
            #expect(
                unbound == unboundByDesign, "\(what): left unbound: \(unbound.subtracting(unboundByDesign).sorted())")
            if next.status == 0 && a.status == 0 { try? FileManager.default.removeItem(atPath: root) }
        }
        // The campaign must actually kill: a run of seeds that never killed anything proves nothing.
        #expect(seeds.count < 2 || killed > 0, "\(combo): no run was killed (\(seeds.count) seeds)")
        try? FileManager.default.removeItem(atPath: base)
    }
}
