import Foundation
import HostKit
import HostSim
import Passthrough
import Reconcile
import TestSupport
import Testing

/// plan / apply / assert on simulated hosts through the CLI.
@Suite struct ApplyTests {
    func vg(_ root: HostRoot, _ args: [String], env: [String: String?] = [:]) throws -> TestSupport.Result {
        try TestSupport.vgpuctl(["--root", root.path] + args, environment: env)
    }

    func write(_ text: String) throws -> String {
        let path = TestSupport.tempDir("cfg") + "/host.yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static let mixedConfig = """
        version: 1
        configs:
          default:
            - select: {address: "0000:01:00.0"}
              mode: vgpu
              vfs: 4
              vfioHandoff: true
            - select: {address: "0000:03:00.0"}
              mode: passthrough
            - select: {deviceID: "8086:10fb"}
              mode: vgpu
              vfs: 2
            - select: all
              mode: host
        """

    /// The planner names each function's VFIO files from the device it has read (group number,
    /// directory listing): the same files reading by address names, for functions bound to VFIO
    /// with a cdev and for the rest; a device read without its group or listing is read again.
    @Test func theVFIOFilesOfADeviceReadAreTheFilesByAddress() throws {
        let root = try TestSupport.simHost("mixed")
        let apply = try vg(root, ["apply", "-f", try write(Self.mixedConfig)])
        #expect(apply.status == 0, "\(apply.stderr)")
        let s = SysfsReader(root: root)
        let all = s.allDevices()
        var withCdev = 0
        for d in all {
            let files = s.vfioFiles(d)
            #expect(files == s.vfioFiles(d.address), "\(d.address)")
            if files.contains(where: { $0.hasPrefix("/dev/vfio/devices/") }) { withCdev += 1 }
            var bare = d
            bare.entries = []
            bare.iommuGroup = nil
            #expect(s.vfioFiles(bare) == files, "\(d.address) without its group and listing")
        }
        // 4 + 2 VFs handed over, and the passed-through GPU with its audio function.
        #expect(withCdev >= 6, "\(withCdev) functions with a VFIO cdev")
    }

    @Test func mixedHostPlanApplyAssertAndASecondApplyWritesNothing() throws {
        let root = try TestSupport.simHost("mixed")
        let cfg = try write(Self.mixedConfig)
        let before = TestSupport.fingerprint(root.path)
        let plan = try vg(root, ["plan", "-f", cfg])
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(
            plan.stdout.contains("enable 4 VFs on 0000:01:00.0")
                && plan.stdout.contains("assign 0000:03:00.0 to its VFIO driver"), "\(plan.stdout)")
        #expect(TestSupport.fingerprint(root.path) == before, "plan changed the host")
        #expect(try vg(root, ["assert", "-f", cfg]).status == 1)

        let apply = try vg(root, ["apply", "-f", cfg, "--json"])
        #expect(apply.status == 0, "\(apply.stderr)")
        let s = SysfsReader(root: root)
        #expect(s.device(PCIAddress("0000:01:00.0")!)?.sriov?.numVFs == 4)
        #expect(s.device(PCIAddress("0000:01:00.5")!)?.driver == "vfio-pci")
        #expect(s.device(PCIAddress("0000:03:00.0")!)?.driver == "vfio-pci")
        #expect(s.device(PCIAddress("0000:03:00.1")!)?.driver == "vfio-pci", "the audio companion goes with the GPU")
        #expect(s.device(PCIAddress("0000:04:00.0")!)?.sriov?.numVFs == 2)
        #expect(s.device(PCIAddress("0000:02:00.0")!)?.driver == "nvidia")
        #expect(try vg(root, ["assert", "-f", cfg]).status == 0)

        let converged = TestSupport.fingerprint(root.path)
        let again = try vg(root, ["apply", "-f", cfg])
        #expect(again.status == 0 && again.stdout.contains("no change made"), "\(again.stdout)")
        #expect(TestSupport.fingerprint(root.path) == converged, "a second apply changed the simulated tree")
    }

    @Test func changingOneCountChangesOnlyThatGPU() throws {
        let root = try TestSupport.simHost("h100x8")
        let all8 = try write("version: 1\nconfigs:\n  a:\n    - select: all\n      mode: vgpu\n      vfs: 8\n")
        #expect(try vg(root, ["apply", "-f", all8]).status == 0)
        let one = try write(
            "version: 1\nconfigs:\n  a:\n    - select: {address: \"0000:3a:00.0\"}\n      mode: vgpu\n      vfs: 4\n    - select: all\n      mode: vgpu\n      vfs: 8\n"
        )
        let plan = try vg(root, ["plan", "-f", one, "--json"])
        let obj = try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any]
        let changed = (obj?["devices"] as? [[String: Any]] ?? []).filter { !(($0["steps"] as? [Any]) ?? []).isEmpty }
            .map { $0["device"] as? String }
        #expect(changed == ["0000:3a:00.0"])
        let before = TestSupport.fingerprint(root.path)
        #expect(try vg(root, ["apply", "-f", one]).status == 0)
        let after = TestSupport.fingerprint(root.path)
        let touched = Set(
            Set(before.keys).symmetricDifference(after.keys).union(before.keys.filter { before[$0] != after[$0] }))
        let outside = touched.filter { k in
            !(k.contains("0000:3a:") || k.hasPrefix("sys/kernel/iommu_groups") || k.hasPrefix("var/lib/vgpuctl")
                || k == ".vgpuctl-sim.json" || k.hasPrefix("run/"))
        }
        #expect(outside.isEmpty, "apply touched other devices: \(outside.sorted().prefix(10))")
    }

    @Test func refusesToTouchADeviceAVMHolds() throws {
        let root = try TestSupport.simHost("mixed")
        let four = try write(
            "version: 1\nconfigs:\n  a:\n    - select: {address: \"0000:01:00.0\"}\n      mode: vgpu\n      vfs: 4\n      vfioHandoff: true\n"
        )
        #expect(try vg(root, ["apply", "-f", four]).status == 0)
        let group = try #require(SysfsReader(root: root).device(PCIAddress("0000:01:00.5")!)?.iommuGroup)
        try FileManager.default.createDirectory(atPath: root.url("proc/777/fd"), withIntermediateDirectories: true)
        try "qemu-system-x86\n".write(toFile: root.url("proc/777/comm"), atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(
            atPath: root.url("proc/777/fd/5"), withDestinationPath: "/dev/vfio/\(group)")
        let two = try write(
            "version: 1\nconfigs:\n  a:\n    - select: {address: \"0000:01:00.0\"}\n      mode: vgpu\n      vfs: 2\n      vfioHandoff: true\n"
        )
        let plan = try vg(root, ["plan", "-f", two])
        #expect(plan.stdout.contains("touches a running VM: pid 777"), "\(plan.stdout)")
        let before = TestSupport.fingerprint(root.path)
        let r = try vg(root, ["apply", "-f", two])
        #expect(r.status == 4)
        #expect(r.stderr.contains("pid 777") && r.stderr.contains("--force"), "\(r.stderr)")
        #expect(TestSupport.fingerprint(root.path) == before)
    }

    @Test func badFilesChangeNothing() throws {
        let root = try TestSupport.simHost("mixed")
        let before = TestSupport.fingerprint(root.path)
        let bad = try write("version: 1\nconfigs:\n  a:\n    - select: all\n      mode: vgpu\n      vfs: 99\n")
        let r = try vg(root, ["apply", "-f", bad])
        #expect(r.status == 2)
        #expect(r.stderr.contains(bad + ":6:12") && r.stderr.contains("at most 32 VFs"), "\(r.stderr)")
        let unknown = try write(
            "version: 1\nconfigs:\n  a:\n    - select: {address: \"0000:7f:00.0\"}\n      mode: host\n")
        let u = try vg(root, ["apply", "-f", unknown])
        #expect(u.status == 2 && u.stderr.contains("0000:7f:00.0") && u.stderr.contains(":4:25"), "\(u.stderr)")
        let missing = try vg(root, ["apply", "-f", "/nonexistent/host.yaml"])
        #expect(missing.status == 2 && missing.stderr.contains("/nonexistent/host.yaml"))
        let types = try write(
            "version: 1\nconfigs:\n  a:\n    - select: {address: \"0000:02:00.0\"}\n      mode: vgpu\n      types: {H100-10C: 2}\n"
        )
        let t = try vg(root, ["apply", "-f", types])
        #expect(t.status == 2 && t.stderr.contains("H100-10C"), "\(t.stderr)")
        #expect(TestSupport.fingerprint(root.path) == before)
    }

    /// Kills apply right after each step in turn; the next `recover` must finish it: the new
    /// state (assert passes), every PF and companion bound to a driver.
    @Test func crashAtEveryStepThenRecover() throws {
        let cfg = try write(Self.mixedConfig)
        let probe = try TestSupport.simHost("mixed")
        let plan = try vg(probe, ["plan", "-f", cfg, "--json"])
        let obj = try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any]
        let steps = (obj?["devices"] as? [[String: Any]] ?? []).reduce(0) { $0 + (($1["steps"] as? [Any])?.count ?? 0) }
        #expect(steps >= 7, "the plan is realistic: \(steps) steps")
        for n in 1...steps {
            let root = try TestSupport.simHost("mixed")
            let crashed = try vg(root, ["apply", "-f", cfg], env: ["VGPUCTL_TEST_CRASH_AFTER_STEP": String(n)])
            #expect(
                crashed.status == 86, "step \(n): the crash switch did not fire (\(crashed.status)) \(crashed.stderr)")
            #expect(
                FileManager.default.fileExists(atPath: root.url("var/lib/vgpuctl/journal.json")),
                "step \(n): no journal left")
            let rec = try vg(root, ["recover"])
            #expect(rec.status == 0, "step \(n): recover failed: \(rec.stderr)")
            let a = try vg(root, ["assert", "-f", cfg])
            #expect(a.status == 0, "step \(n): not in the new state after recover: \(a.stdout)")
            let s = SysfsReader(root: root)
            for d in s.allDevices() where d.physfn == nil && !d.isBridge {
                #expect(d.driver != nil, "step \(n): \(d.address) is unbound from everything")
            }
            #expect(!FileManager.default.fileExists(atPath: root.url("var/lib/vgpuctl/journal.json")))
        }
    }

    @Test func anyMutatingCommandCompletesAnInterruptedApplyFirst() throws {
        let cfg = try write(Self.mixedConfig)
        let root = try TestSupport.simHost("mixed")
        #expect(try vg(root, ["apply", "-f", cfg], env: ["VGPUCTL_TEST_CRASH_AFTER_STEP": "2"]).status == 86)
        let r = try vg(root, ["passthrough", "assign", "0000:02:00.0"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("interrupted apply"), "\(r.stderr)")
        #expect(SysfsReader(root: root).device(PCIAddress("0000:01:00.0")!)?.sriov?.numVFs == 4)
    }

    @Test func twoAppliesAtOnceEndConsistent() throws {
        let root = try TestSupport.simHost("h100x8")
        let cfg = try write(
            "version: 1\nconfigs:\n  a:\n    - select: all\n      mode: vgpu\n      vfs: 16\n      vfioHandoff: true\n")
        final class Box: @unchecked Sendable { var r: [TestSupport.Result?] = [nil, nil] }
        let box = Box()
        let group = DispatchGroup()
        for i in 0..<2 {
            group.enter()
            let path = root.path
            DispatchQueue.global().async {
                box.r[i] = try? TestSupport.vgpuctl(["--root", path, "apply", "-f", cfg, "--wait", i == 0 ? "60" : "0"])
                group.leave()
            }
        }
        group.wait()
        let results = box.r.compactMap { $0 }
        #expect(results.count == 2)
        let ok = results.filter { $0.status == 0 }
        let failed = results.filter { $0.status != 0 }
        #expect(!ok.isEmpty)
        for f in failed {
            #expect(
                f.status == 1 && f.stderr.contains("another vgpuctl is changing this host") && f.stderr.contains("pid"),
                "\(f.stderr)")
        }
        #expect(try vg(root, ["assert", "-f", cfg]).status == 0)
    }

    @Test func lockWaitNamesTheHolder() throws {
        let root = try TestSupport.simHost("mixed")
        let lock = try HostLock(root: root, command: "vgpuctl apply -f test.yaml", wait: .zero)
        let r = try vg(root, ["passthrough", "assign", "0000:02:00.0", "--wait", "0.3"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("pid \(getpid())") && r.stderr.contains("vgpuctl apply -f test.yaml"), "\(r.stderr)")
        withExtendedLifetime(lock) {}
    }

    @Test func nvidiaFileConfigsNeedAVGPUInterface() throws {
        // A vgpu-device-manager file as operators have it: the types need a vGPU interface,
        // which a host without one reports clearly (exit 2) instead of guessing.
        let root = try TestSupport.simHost("h100x8")
        let r = try vg(root, ["plan", "-f", HostConfigParserTests.nvidiaFile, "-c", "H100XM-10C"])
        #expect(r.status == 2 && r.stderr.contains("vGPU interface"), "\(r.status) \(r.stderr)")
    }

    /// NVIDIA's own config file on an h100x8 host with the vendor VFIO interface: every GPU
    /// gets 8 H100XM-10C VFs; a second apply writes nothing; trimming to 6 per GPU clears only
    /// the two surplus VFs of each GPU and keeps the rest.
    @Test(arguments: ["vendor", "mdev", "upstream"])
    func nvidiaFileAppliesTypesMinimally(interface: String) throws {
        let dir = TestSupport.tempDir("vgpu") + "/host"
        let c = try TestSupport.vgpuctl(["sim", "create", dir, "--model", "h100x8", "--vgpu-interface", interface])
        #expect(c.status == 0, "\(c.stderr)")
        let root = HostRoot(dir)
        let apply = try vg(root, ["apply", "-f", HostConfigParserTests.nvidiaFile, "-c", "H100XM-10C"])
        #expect(apply.status == 0, "\(apply.stderr)")
        #expect(try vg(root, ["assert", "-f", HostConfigParserTests.nvidiaFile, "-c", "H100XM-10C"]).status == 0)
        let converged = TestSupport.fingerprint(root.path)
        let log = TestSupport.tempDir("wlog") + "/writes"
        let again = try vg(
            root, ["apply", "-f", HostConfigParserTests.nvidiaFile, "-c", "H100XM-10C"], env: ["VGPUCTL_WRITE_LOG": log]
        )
        #expect(again.status == 0 && again.stdout.contains("no change made"), "\(again.stdout) \(again.stderr)")
        #expect(!FileManager.default.fileExists(atPath: log), "a converged apply wrote to the kernel")
        #expect(TestSupport.fingerprint(root.path) == converged, "a converged apply changed the tree")

        let six = try write(
            "version: 1\nconfigs:\n  a:\n    - select: all\n      mode: vgpu\n      vfs: 8\n      types: {H100XM-10C: 6}\n"
        )
        let plan = try vg(root, ["plan", "-f", six, "--json"])
        let obj = try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any]
        let steps = (obj?["devices"] as? [[String: Any]] ?? []).flatMap { ($0["steps"] as? [[String: Any]]) ?? [] }
        #expect(
            steps.count == 16
                && steps.allSatisfy { ($0["action"] as? String)?.hasPrefix("clear vGPU type H100XM-10C") == true },
            "\(steps)")
        #expect(try vg(root, ["apply", "-f", six]).status == 0)
        #expect(try vg(root, ["assert", "-f", six]).status == 0)

        // A mix that does not fit (H100XM-40C takes half the GPU; 6 x 10C already hold 60 GB)
        // is refused by plan and apply before anything changes.
        let tooMuch = try write(
            "version: 1\nconfigs:\n  a:\n    - select: all\n      mode: vgpu\n      vfs: 8\n      types: {H100XM-10C: 6, H100XM-40C: 1}\n"
        )
        let before = TestSupport.fingerprint(root.path)
        let refused = try vg(root, ["apply", "-f", tooMuch])
        #expect(refused.status == 2, "\(refused.stderr)")
        #expect(
            refused.stderr.contains("H100XM-40C") && refused.stderr.contains("MiB") && refused.stderr.contains(":7:7"),
            "\(refused.stderr)")
        #expect(TestSupport.fingerprint(root.path) == before)
    }
}

@Suite struct ReadinessTests {
    @Test func waitReadyFailsNamingTheDeviceWithoutADriverAndPassesOnceBound() throws {
        let root = try TestSupport.simHost("mixed")
        let path = TestSupport.tempDir("cfg") + "/host.yaml"
        try "version: 1\nconfigs:\n  a:\n    - select: {address: \"0000:02:00.0\"}\n      mode: vgpu\n      vfs: 2\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        try SimulatedKernel(root: root).write("0000:02:00.0", to: .unbind(driver: "nvidia"))
        let r = try TestSupport.vgpuctl(["--root", root.path, "apply", "-f", path, "--wait-ready", "0.2"])
        #expect(r.status == 1 && r.stderr.contains("0000:02:00.0 has no driver bound yet"), "\(r.stderr)")
        try SimulatedKernel(root: root).write("0000:02:00.0", to: .driversProbe)
        let ok = try TestSupport.vgpuctl(["--root", root.path, "apply", "-f", path, "--wait-ready", "5"])
        #expect(ok.status == 0, "\(ok.stderr)")
    }
}
