import ControlChannel
import Foundation
import GSPMessaging
import HostKit
import HostSim
import TestSupport
import Testing

/// Hex of bytes, for failure messages.
func hexString(_ b: [UInt8]) -> String { b.map { String(format: "%02x", $0) }.joined(separator: " ") }

/// The first GPU of a simulated h100x8 host with the upstream interface.
let h100PF = PCIAddress("0000:18:00.0")!

/// A fresh simulated h100x8 host with the upstream vGPU interface (a fwctl device per GPU).
func upstreamHost() throws -> HostRoot {
    let dir = TestSupport.tempDir("cc-h100x8") + "/host"
    _ = try SimHostBuilder.create(at: dir, model: "h100x8", vgpuInterface: .upstream)
    return HostRoot(dir)
}

/// Runs the built vgpuctl against `root`.
func vg(_ root: HostRoot, _ args: [String], env: [String: String?] = [:]) throws -> TestSupport.Result {
    try TestSupport.vgpuctl(["--root", root.path] + args, environment: env, timeout: 120)
}

/// Enables every VF of `pf` through the simulated kernel (unbound).
func enableVFs(_ root: HostRoot, _ pf: PCIAddress = h100PF) throws {
    let c = VFController(root: root, kernel: SimulatedKernel(root: root), waiterFactory: { SysfsVFWaiter() })
    let total = try #require(SysfsReader(root: root).device(pf)?.sriov?.totalVFs)
    _ = try c.enable(pf, count: total, force: false, autoprobe: false, timeout: .seconds(5))
}

/// Pids of running processes whose command line mentions `text` (zombies excluded).
func processes(mentioning text: String) -> [Int32] {
    let fm = FileManager.default
    return ((try? fm.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { Int32($0) }.filter { pid in
        guard pid != getpid(), let args = StubProcess.commandLine(of: pid), args.joined(separator: " ").contains(text)
        else { return false }
        if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")"),
            stat[stat.index(close, offsetBy: 2)...].first == "Z"
        {
            return false
        }
        return true
    }
}

/// A gsp-stub booted for `pf` with `vgpuctl gsp boot` (extra arguments and environment for
/// faults), and the control channel to it in this process. ``close()`` frees the RM objects
/// and stops the stub.
final class BootedStub {
    let root: HostRoot
    let pf: PCIAddress
    let client: VGPUManagementClient
    let transport: GSPStubTransport

    init(
        _ root: HostRoot, _ pf: PCIAddress = h100PF, boot extra: [String] = [], env: [String: String?] = [:],
        scope: FwctlScope = .configuration
    ) throws {
        self.root = root
        self.pf = pf
        let r = try vg(root, ["gsp", "boot", pf.description, "--json"] + extra, env: env)
        try #require(r.status == 0, "gsp boot: \(r.stderr)")
        do {
            let gsp = try SimulatedGSP(root: root, pf: pf).connect(receiveTimeout: .seconds(10))
            transport = GSPStubTransport(gsp: gsp, name: "gsp-stub for \(pf)", pci: SysfsReader(root: root).device(pf))
            client = VGPUManagementClient(transport: transport, scope: scope)
        } catch {
            _ = try? vg(root, ["gsp", "stop", pf.description])
            throw error
        }
    }

    func close() {
        client.close()
        _ = try? vg(root, ["gsp", "stop", pf.description])
    }
}

/// Two types of the H100XM catalog as records (values as `vgpuctl control types --json` shows them).
enum Records {
    static let h100xm20C = VGPUTypeRecord(
        id: 1205, name: "H100XM-20C", maxInstances: 4, framebufferMiB: 20320, nominalMiB: 20480,
        series: "C", placementSize: 20, placements: [0, 20, 40, 60], channels: 512, copyEngines: 8, mig: nil)
    static let h100xm40C = VGPUTypeRecord(
        id: 1206, name: "H100XM-40C", maxInstances: 2, framebufferMiB: 40640, nominalMiB: 40960,
        series: "C", placementSize: 40, placements: [0, 40], channels: 1024, copyEngines: 8, mig: nil)
    static let h100xm1g10C = VGPUTypeRecord(
        id: 1208, name: "H100XM-1-10C", maxInstances: 7, framebufferMiB: 10160, nominalMiB: 10240,
        series: "C", placementSize: 10, placements: [0, 10, 20, 30, 40, 50, 60], channels: 256, copyEngines: 1,
        mig: .init(profile: "1g.10gb", computeSlices: 1, memorySlices: 1, memoryPlacements: [0, 1, 2, 3, 4, 5, 6]))
}
