import Foundation
import HostKit
import HostSim
import Reconcile
import TestSupport
import Testing

/// Recovery that never wedges: a step that cannot complete stops recovery with a message that
/// names it, what the host shows and the way out; `recover --abandon` drops the interrupted
/// apply; read-only commands do not wait.
@Suite struct RecoveryTests {
    func vg(_ root: HostRoot, _ args: [String], env: [String: String?] = [:]) throws -> TestSupport.Result {
        try TestSupport.vgpuctl(["--root", root.path] + args, environment: env)
    }

    func write(_ text: String) throws -> String {
        let path = TestSupport.tempDir("cfg") + "/host.yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func vendorHost() throws -> HostRoot {
        let dir = TestSupport.tempDir("vgpu") + "/host"
        let c = try TestSupport.vgpuctl(["sim", "create", dir, "--model", "h100x8", "--vgpu-interface", "vendor"])
        #expect(c.status == 0, "\(c.stderr)")
        return HostRoot(dir)
    }

    static let config = """
        version: 1
        configs:
          a:
            - select: {address: "0000:18:00.0"}
              mode: vgpu
              vfs: 6
              types: {H100XM-10C: 4}
            - select: {address: "0000:3a:00.0"}
              mode: passthrough
        """

    /// The host the issue saw wedged: the nvidia driver's probe of a VF did not create its
    /// `nvidia/` directory after an apply died. recover names the step, the host's view and the
    /// way out (never "bound to nvidia ... needs the VF bound to nvidia"); plan does not wait;
    /// `recover --abandon` drops the apply; after `vf disable` the next apply converges.
    @Test func aStepThatCannotCompleteStopsRecoveryWithTheWayOut() throws {
        let root = try vendorHost()
        let cfg = try write(Self.config)
        let crashed = try vg(root, ["apply", "-f", cfg], env: ["VGPUCTL_TEST_CRASH_AFTER_STEP": "1"])
        #expect(crashed.status == 86, "\(crashed.stderr)")
        let vfDir = try #require(SysfsReader(root: root).device(PCIAddress("0000:18:00.4")!)?.canonicalPath)
        try FileManager.default.removeItem(atPath: root.url(vfDir + "/nvidia"))

        for _ in 0..<2 {
            let r = try vg(root, ["recover"])
            #expect(r.status == 1)
            #expect(
                r.stderr.contains("stopped at step 2 of 6, 'give 0000:18:00.4 vGPU type H100XM-10C'"), "\(r.stderr)")
            #expect(
                r.stderr.contains(
                    "0000:18:00.4 is bound to nvidia but has no nvidia/ directory: the nvidia driver's probe did not create"
                ), "\(r.stderr)")
            #expect(
                r.stderr.contains("the host shows 0000:18:00.4 bound to nvidia, no nvidia/ directory"), "\(r.stderr)")
            #expect(r.stderr.contains("'vgpuctl recover --abandon'"), "\(r.stderr)")
            #expect(!r.stderr.contains("needs the VF bound to nvidia"), "the message contradicts itself: \(r.stderr)")
        }
        // Read-only: reports the interrupted apply, does not complete it, exits 0.
        let plan = try vg(root, ["plan", "-f", cfg])
        #expect(plan.status == 0 && plan.stderr.contains("has 5 steps left"), "\(plan.stderr)")
        #expect(FileManager.default.fileExists(atPath: root.url(Journal.file)))

        let before = TestSupport.fingerprint(root.path).filter {
            !$0.key.hasPrefix("var/lib/vgpuctl") && !$0.key.hasPrefix("run/")
        }
        let ab = try vg(root, ["recover", "--abandon"])
        #expect(ab.status == 0, "\(ab.stderr)")
        #expect(ab.stdout.contains("1 steps were done, 5 are left undone"), "\(ab.stdout)")
        #expect(
            ab.stdout.contains("in progress (may have partly happened): give 0000:18:00.4 vGPU type H100XM-10C"),
            "\(ab.stdout)")
        #expect(ab.stdout.contains("not done: assign 0000:3a:00.0 to its VFIO driver"), "\(ab.stdout)")
        #expect(ab.stdout.contains("host shows: 0000:18:00.4 bound to nvidia, no nvidia/ directory"), "\(ab.stdout)")
        #expect(!FileManager.default.fileExists(atPath: root.url(Journal.file)))
        let after = TestSupport.fingerprint(root.path).filter {
            !$0.key.hasPrefix("var/lib/vgpuctl") && !$0.key.hasPrefix("run/")
        }
        #expect(after == before, "abandoning changed the host")
        #expect(try vg(root, ["recover", "--abandon"]).stdout.contains("nothing to abandon"))

        // The way out the message names.
        let dis = try vg(root, ["vf", "disable", "0000:18:00.0"])
        #expect(dis.status == 0, "\(dis.stderr)")
        let apply = try vg(root, ["apply", "-f", cfg])
        #expect(apply.status == 0, "\(apply.stderr)")
        #expect(try vg(root, ["assert", "-f", cfg]).status == 0)
    }

    /// `apply --abandon-interrupted` drops the interrupted apply (saying what it leaves) and
    /// plans from the host as it is.
    @Test func applyCanAbandonTheInterruptedApply() throws {
        let root = try vendorHost()
        let cfg = try write(Self.config)
        #expect(try vg(root, ["apply", "-f", cfg], env: ["VGPUCTL_TEST_CRASH_AFTER_STEP": "2"]).status == 86)
        let r = try vg(root, ["apply", "-f", cfg, "--abandon-interrupted"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(
            r.stderr.contains("dropped the apply interrupted in pid")
                && r.stderr.contains("1 steps were done, 5 are left undone"), "\(r.stderr)")
        #expect(
            r.stdout.contains("applied config 'a': 4 steps") && r.stdout.contains("assign 0000:3a:00.0"), "\(r.stdout)")
        #expect(try vg(root, ["assert", "-f", cfg]).status == 0)
    }

    /// A config that does not resolve on this host is not "ready" (it reported nothing pending).
    @Test func readinessReportsAConfigThatDoesNotResolve() throws {
        let root = try TestSupport.simHost("mixed")
        let cfg = try HostConfigParser.parse(
            "version: 1\nconfigs:\n  a:\n    - select: {serial: \"00-00-00-00-00-00-00-01\"}\n      mode: host\n",
            file: "r.yaml")[0]
        let planner = Planner(root: root, backends: { _ in nil })
        let pending = Readiness(root: root, planner: planner, uevents: false).pending(cfg)
        #expect(
            pending == [
                "r.yaml:4:24: no device has serial number 0000000000000001 (read from the config-space DSN capability; run as root on a real host)"
            ], "\(pending)")
    }

    /// A passthrough with a companion (GPU + audio) killed before every change a simulated write
    /// makes: the next apply always ends with both on vfio-pci (found by the crash campaign: a
    /// companion left unbound between its unbind and its bind was taken as "viable" and never bound).
    @Test func passthroughKilledAtEveryChangeFinishesTheCompanion() throws {
        let cfg = try write(
            "version: 1\nconfigs:\n  a:\n    - select: {address: \"0000:03:00.0\"}\n      mode: passthrough\n")
        let template = try TestSupport.simHost("mixed")
        var k = 1
        while k < 100 {
            let root = TestSupport.tempDir("pt-kill") + "/host"
            #expect(try TestSupport.run("/bin/cp", ["-a", template.path, root]).status == 0)
            let r = try vg(HostRoot(root), ["apply", "-f", cfg], env: ["VGPUCTL_TEST_SIM_KILL_AT_EFFECT": String(k)])
            let next = try vg(HostRoot(root), ["apply", "-f", cfg])
            #expect(next.status == 0, "k=\(k): \(next.stderr)")
            let s = SysfsReader(root: HostRoot(root))
            #expect(s.device(PCIAddress("0000:03:00.0")!)?.driver == "vfio-pci", "k=\(k)")
            #expect(
                s.device(PCIAddress("0000:03:00.1")!)?.driver == "vfio-pci",
                "k=\(k): the companion is left \(s.device(PCIAddress("0000:03:00.1")!)?.driver ?? "unbound")")
            try? FileManager.default.removeItem(atPath: root)
            if r.status == 0 { break }
            #expect(r.status == SIGKILL, "k=\(k): \(r.status)")
            k += 1
        }
        #expect(k > 3 && k < 100, "\(k)")
    }

    /// A process that started using a device after the apply died is not disturbed by the
    /// recovery: `recover` refuses with exit 4 naming it and changes nothing; `recover --force`
    /// completes the apply.
    @Test func recoveryRefusesToTakeADeviceSomeoneNowUses() throws {
        let root = try vendorHost()
        let cfg = try write(Self.config)
        let crashed = try vg(root, ["apply", "-f", cfg], env: ["VGPUCTL_TEST_CRASH_AFTER_STEP": "1"])
        #expect(crashed.status == 86, "\(crashed.stderr)")
        // After the crash a CUDA-like process opens the GPU the remaining steps hand to VFIO.
        let gpu = try #require(PCIAddress("0000:3a:00.0"))
        try FileManager.default.createDirectory(
            atPath: root.url("proc/driver/nvidia/gpus/\(gpu)"), withIntermediateDirectories: true)
        try "Device Minor: \t 0\n".write(
            toFile: root.url("proc/driver/nvidia/gpus/\(gpu)/information"), atomically: true, encoding: .utf8)
        try "".write(toFile: root.url("dev/nvidia0"), atomically: true, encoding: .utf8)
        let holder = try HostTrees.Holder(root: root, files: [root.url("dev/nvidia0")])
        defer { holder.stop() }
        func tree() -> [String: String] { TestSupport.fingerprint(root.path).filter { !$0.key.hasPrefix("run/") } }
        let before = tree()

        let r = try vg(root, ["recover"])
        #expect(r.status == 4, "\(r.stderr)")
        #expect(r.stderr.contains("\(gpu) is in use: pid \(holder.pid) (sleep) holds /dev/nvidia0 open"), "\(r.stderr)")
        #expect(r.stderr.contains("completing the apply interrupted in pid"), "\(r.stderr)")
        #expect(
            r.stderr.contains("'vgpuctl recover --force'") && r.stderr.contains("'vgpuctl recover --abandon'"),
            "\(r.stderr)")
        #expect(tree() == before, "a refused recovery changed the host")
        #expect(SysfsReader(root: root).device(gpu)?.driver == "nvidia")

        let forced = try vg(root, ["recover", "--force"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(SysfsReader(root: root).device(gpu)?.driver == "vfio-pci")
        #expect(try vg(root, ["assert", "-f", cfg]).status == 0)
    }

    /// `apply --force` over a device a VM holds goes through to the end (it once stopped half-way:
    /// the release step refused on its own after apply had been told to go ahead).
    @Test func applyForceReleasesADeviceAVMHoldsAndFinishes() throws {
        let root = try vendorHost()
        let gpu = try #require(PCIAddress("0000:3a:00.0"))
        let pass = try write(
            "version: 1\nconfigs:\n  a:\n    - select: {address: \"\(gpu)\"}\n      mode: passthrough\n")
        let host = try write("version: 1\nconfigs:\n  a:\n    - select: {address: \"\(gpu)\"}\n      mode: host\n")
        #expect(try vg(root, ["apply", "-f", pass]).status == 0)
        let group = try #require(SysfsReader(root: root).device(gpu)?.iommuGroup)
        let vm = try HostTrees.Holder(
            root: root, files: [root.url("dev/vfio/\(group)")], executableName: "qemu-system-x86")
        defer { vm.stop() }
        let refused = try vg(root, ["apply", "-f", host])
        #expect(refused.status == 4, "\(refused.stderr)")
        #expect(SysfsReader(root: root).device(gpu)?.driver == "vfio-pci")
        let forced = try vg(root, ["apply", "-f", host, "--force"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(SysfsReader(root: root).device(gpu)?.driver == "nvidia")
        #expect(
            !FileManager.default.fileExists(atPath: root.url(Journal.file)),
            "the apply left its journal: it stopped half-way")
    }
}
