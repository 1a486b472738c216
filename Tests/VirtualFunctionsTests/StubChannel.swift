import ControlChannel
import Foundation
import GSPMessaging
import HostKit
import HostSim
import TestSupport
import Testing
import VirtualFunctions

/// gsp-stub booted for a PF through the built vgpuctl (`gsp boot`), and the stage-2 control
/// channel to it (``GSPStubTransport`` under ``ManagementControlChannel``): what the upstream
/// backend talks to on a simulated host. ``close()`` frees the channel and stops the stub.
final class StubChannel {
    let root: HostRoot
    let pf: PCIAddress
    let channel: ManagementControlChannel

    init(_ root: HostRoot, _ pf: PCIAddress) throws {
        self.root = root
        self.pf = pf
        let boot = try VF.run(root, ["gsp", "boot", pf.description, "--json"])
        try #require(boot.status == 0, "gsp boot: \(boot.stderr)")
        do {
            let gsp = try SimulatedGSP(root: root, pf: pf).connect()
            let t = GSPStubTransport(gsp: gsp, name: "gsp-stub for \(pf)", pci: SysfsReader(root: root).device(pf))
            channel = ManagementControlChannel(root: root, pf: pf, client: VGPUManagementClient(transport: t))
        } catch {
            _ = try? VF.run(root, ["gsp", "stop", pf.description])
            throw error
        }
    }

    /// The upstream backend of the PF over this channel.
    func backend() throws -> TypedVFBackend {
        let ch = channel
        let b = try VGPUBackends.detect(
            root: root, kernel: SimulatedKernel(root: root), pf: pf,
            channels: { (_: PCIAddress) throws(VirtualFunctionsError) -> (any VGPUControlChannel)? in ch })
        return try #require(b as? TypedVFBackend)
    }

    func close() {
        channel.close()
        _ = try? VF.run(root, ["gsp", "stop", pf.description])
    }
}
