import ControlChannel
import Foundation
import GSPMessaging
import HostKit
import HostSim
import TestSupport
import Testing

/// `vgpuctl control info|types` through the built binary: on a simulated host with the upstream
/// interface (a stub started for the command, or the one `gsp boot` started), on hosts without
/// fwctl, and with bad arguments. No stub may outlive its command.
@Suite struct CommandTests {
    static func json(_ r: TestSupport.Result) throws -> [String: Any] {
        try #require(
            JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any],
            "not JSON: \(r.stdout) \(r.stderr)")
    }

    @Test func infoStartsAStubForTheCommandAndStopsIt() throws {
        let root = try upstreamHost()
        let r = try vg(root, ["control", "info", h100PF.description, "--json"])
        try #require(r.status == 0, "\(r.stderr)")
        let o = try Self.json(r)
        #expect(o["deviceType"] as? Int == 8 && o["deviceTypeName"] as? String == "NOVA_CORE")
        #expect(
            o["fwctl"] as? String == "fwctl0" && o["simulated"] as? Bool == true
                && o["stubStartedForCommand"] as? Bool == true)
        #expect(o["deviceDataLength"] as? Int == 32)
        let nova = try #require(o["novaCore"] as? [String: Any])
        #expect(nova["deviceID"] as? Int == 0x2330 && nova["vgpu"] as? Bool == true && nova["totalVFs"] as? Int == 32)
        let pid = try #require((o["stubPid"] as? Int).map { Int32($0) })
        #expect(kill(pid, 0) != 0, "the stub started for the command still runs (pid \(pid))")
        #expect(processes(mentioning: "vgpuctl-stubs/").filter { kill($0, 0) == 0 }.allSatisfy { $0 != pid })
        #expect(
            !FileManager.default.fileExists(atPath: root.url("run/vgpuctl/gsp")),
            "the command's stub ran outside the host tree")

        let text = try vg(root, ["control", "info", h100PF.description])
        #expect(text.status == 0)
        for w in [
            "0000:18:00.0: fwctl0", "started for this command", "8 (NOVA_CORE), provisional", "10de:2330",
            "enabled (SR-IOV mode), 32 VFs", "GSP-RM 570.144",
        ] {
            #expect(text.stdout.contains(w), "'\(w)' missing: \(text.stdout)")
        }
    }

    @Test func aBootedStubIsUsedWhileItRuns() throws {
        let root = try upstreamHost()
        let boot = try vg(root, ["gsp", "boot", h100PF.description, "--json"])
        try #require(boot.status == 0, "\(boot.stderr)")
        defer { _ = try? vg(root, ["gsp", "stop", h100PF.description]) }
        let pid = try #require(SimulatedGSP(root: root, pf: h100PF).record?.pid)
        let o = try Self.json(try vg(root, ["control", "info", h100PF.description, "--json"]))
        #expect(o["stubPid"] as? Int == Int(pid) && o["stubStartedForCommand"] as? Bool == false)
        #expect(kill(pid, 0) == 0, "the booted stub keeps running")
    }

    @Test func typesOverTheChannelAfterVGPUCtlTaughtThem() throws {
        let root = try upstreamHost()
        let empty = try vg(root, ["control", "types", h100PF.description])
        #expect(
            empty.status == 0 && empty.stdout.contains("knows no vGPU types yet"), "\(empty.stdout) \(empty.stderr)")
        let create = try vg(root, ["vf", "create", h100PF.description, "--type", "H100XM-20C", "--count", "2"])
        try #require(create.status == 0, "\(create.stderr)")
        let all = try Self.json(try vg(root, ["control", "types", h100PF.description, "--json"]))
        let types = try #require(all["types"] as? [[String: Any]])
        #expect(all["list"] as? String == "supported" && types.count == 15)
        let t20 = try #require(types.first { $0["name"] as? String == "H100XM-20C" })
        #expect(t20["id"] as? Int == 1205 && t20["framebufferMiB"] as? Int == 20320 && t20["channels"] as? Int == 512)
        #expect((t20["placements"] as? [Int]) == [0, 20, 40, 60])
        let mig = try #require(types.first { $0["name"] as? String == "H100XM-1-10C" })
        #expect((mig["mig"] as? [String: Any])?["profile"] as? String == "1g.10gb")
        // Two 20C VFs on units 0..<20 and 20..<40: 4C..40C still fit (40C on 40..<80); the MIG types do not.
        let creatable = try Self.json(try vg(root, ["control", "types", h100PF.description, "--creatable", "--json"]))
        #expect(
            (creatable["types"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
                == ["H100XM-4C", "H100XM-5C", "H100XM-8C", "H100XM-10C", "H100XM-16C", "H100XM-20C", "H100XM-40C"])
        let text = try vg(root, ["control", "types", h100PF.description, "--creatable"])
        #expect(
            text.status == 0 && text.stdout.contains("creatable vGPU types")
                && text.stdout.contains("1205  H100XM-20C  20320"), "\(text.stdout)")
        #expect(processes(mentioning: root.path).isEmpty)
    }

    @Test func aDebugScopeWarnsAndNovaCoreRefusesIt() throws {
        let root = try upstreamHost()
        let r = try vg(root, ["control", "types", h100PF.description, "--debug-scope", "debug-write"])
        #expect(r.status == 1)
        #expect(
            r.stderr.contains(
                "vgpuctl: warning: using the fwctl debug-write scope (FWCTL_RPC_DEBUG_WRITE): the kernel taints itself (TAINT_FWCTL)"
            ), "\(r.stderr)")
        #expect(
            r.stderr.contains(
                "with EPERM: nova-core permits the vGPU management commands only in the FWCTL_RPC_CONFIGURATION scope"),
            "\(r.stderr)")
        let full = try vg(root, ["control", "types", h100PF.description, "--debug-scope", "debug-write-full"])
        #expect(full.status == 1 && full.stderr.contains("it needs CAP_SYS_RAWIO"), "\(full.stderr)")
    }

    /// A host tree without the simulation marker and without fwctl: what a kernel before 6.15
    /// (or one without nova-core's fwctl driver) gives.
    @Test(arguments: [["control", "info", "0000:18:00.0"], ["control", "types", "0000:18:00.0"]])
    func aKernelWithoutFwctlSaysSo(args: [String]) throws {
        let root = try TestSupport.simHost("h100x8")
        try FileManager.default.removeItem(atPath: root.url(HostRoot.simulationMarker))
        let r = try vg(root, args)
        #expect(r.status == 1, "\(r.status): \(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        for w in [
            "the kernel has no fwctl device for 0000:18:00.0", "no fwctl subsystem (CONFIG_FWCTL, merged in Linux 6.15",
            "nova-core's fwctl driver", "not upstream yet",
        ] {
            #expect(r.stderr.contains(w), "'\(w)' missing: \(r.stderr)")
        }
    }

    @Test func aSimulatedHostWithoutTheUpstreamInterfaceSaysSo() throws {
        let root = try TestSupport.simHost("h100x8")
        let r = try vg(root, ["control", "types", "0000:18:00.0"])
        #expect(
            r.status == 1 && r.stderr.contains("the kernel has no fwctl device for 0000:18:00.0")
                && r.stderr.contains("--vgpu-interface upstream"), "\(r.stderr)")
    }

    /// This machine's own /sys: the commands say why there is no fwctl device for a PCI device
    /// (exit 1), whether the kernel lacks the fwctl subsystem or has it without a driver that
    /// registered the device. No device on this machine is a nova-core GPU, so both are failures.
    @Test func thisMachinesKernel() throws {
        let sysfs = SysfsReader(root: .system)
        let dev = try #require(sysfs.pciAddresses().first, "this machine shows no PCI device in /sys")
        let r = try TestSupport.vgpuctl(["--root", "/", "control", "info", dev.description], timeout: 60)
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains("the kernel has no fwctl device for \(dev)"), "\(r.stderr)")
        if sysfs.exists(HostRoot.fwctlClass) {
            #expect(
                r.stderr.contains("fwctl is present") && r.stderr.contains("no fwctl driver has registered \(dev)"),
                "\(r.stderr)")
        } else {
            #expect(r.stderr.contains("merged in Linux 6.15"), "\(r.stderr)")
            let release = try #require(
                sysfs.text("proc/sys/kernel/osrelease")?.trimmingCharacters(in: .whitespacesAndNewlines))
            #expect(r.stderr.contains("this kernel is \(release)"), "\(r.stderr)")
        }
    }

    @Test(arguments: [
        (["control", "info", "nope"], "DDDD:BB:DD.F"),
        (["control", "info", "0000:7f:00.0"], "no PCI device 0000:7f:00.0"),
        (["control", "types", "0000:7f:00.0"], "no PCI device 0000:7f:00.0"),
        (["control", "types", "0000:18:00.0", "--debug-scope", "configuration"], "configuration"),
        (["control", "types", "0000:18:00.0", "--debug-scope", "loud"], "loud"),
    ])
    func badArguments(args: [String], mention: String) throws {
        let root = try upstreamHost()
        let r = try vg(root, args)
        #expect(r.status == 2, "exit \(r.status) for \(args): \(r.stderr)")
        #expect(r.stderr.contains(mention), "stderr lacks '\(mention)': \(r.stderr)")
    }

    @Test func aVFIsNotAPF() throws {
        let root = try upstreamHost()
        try enableVFs(root)
        let r = try vg(root, ["control", "types", "0000:18:00.4"])
        #expect(
            r.status == 2 && r.stderr.contains("0000:18:00.4 is a VF (of 0000:18:00.0); name its PF"), "\(r.stderr)")
    }
}
