import ControlChannel
import Foundation
import GSPMessaging
import HostKit
import VirtualFunctions

/// A control channel vgpuctl opened, and what it runs over.
struct OpenedControlChannel {
    let client: VGPUManagementClient
    /// The fwctl device sysfs shows for the PCI function.
    let device: FwctlDevice
    /// On a simulated host: the gsp-stub process answering, and whether it was started for
    /// this command.
    let stubPid: Int32?
    let stubStartedHere: Bool
}

/// Opens the control channel of a PCI function: the `FWCTL_RPC` ioctl on its fwctl device on a
/// real host; on a simulated host (whose fwctl devices are files, not character devices), the
/// same requests over the GSP queues to gsp-stub.
///
/// On a simulated host the stub of the PF must run: one started with `vgpuctl gsp boot PF` is
/// used while it runs; otherwise a stub is booted for this command alone (as a real driver
/// has GSP-RM running whenever the fwctl device exists) in a private run directory outside the
/// host tree, and stopped when the channel closes or vgpuctl exits (``EphemeralStubs``). The
/// firmware's vGPU state lives in the host tree, so nothing is lost between commands.
enum ControlChannels {
    static func open(env: HostEnvironment, pci: PCIAddress, scope: FwctlScope = .configuration) throws
        -> OpenedControlChannel
    {
        let root = env.root
        let device: FwctlDevice
        do { device = try FwctlLocator.device(for: pci, root: root) } catch {
            var e = error.commandError
            if env.simulated {
                e.message += " (simulated host: only hosts created with '--vgpu-interface upstream' have fwctl devices)"
            }
            throw e
        }
        if !env.simulated {
            do {
                let t = try FwctlIoctlTransport.open(root: root, pci: pci)
                return OpenedControlChannel(
                    client: VGPUManagementClient(transport: t, scope: scope), device: device, stubPid: nil,
                    stubStartedHere: false)
            } catch {
                throw error.commandError
            }
        }
        let recorded = env.gsp(pci)
        if let s = recorded.status(), s.process == "running", s.wireFormat == GSPWireFormat.r000_00.rawValue {
            // A stub booted with '--firmware r000_00': the requests travel as GMC API commands.
            let gmc = try recorded.connectGMC()
            let total = UInt32(SysfsReader(root: root).device(pci)?.sriov?.totalVFs ?? 0)
            let t = GMCStubTransport(
                gmc: gmc, name: "gsp-stub (pid \(s.pid), r000_00) for \(pci)", pci: SysfsReader(root: root).device(pci),
                vgpu: total > 0, totalVFs: total)
            let client = VGPUManagementClient(transport: t, scope: scope)
            client.buildVersion = GSPWireFormat.r000_00.rawValue
            return OpenedControlChannel(client: client, device: device, stubPid: s.pid, stubStartedHere: false)
        }
        if let s = recorded.status(), s.process == "running" {
            let gsp = try recorded.connect()
            let t = GSPStubTransport(
                gsp: gsp, name: "gsp-stub (pid \(s.pid)) for \(pci)", pci: SysfsReader(root: root).device(pci))
            return OpenedControlChannel(
                client: VGPUManagementClient(transport: t, scope: scope), device: device, stubPid: s.pid,
                stubStartedHere: false)
        }
        let stub = try EphemeralStubs.start(env: env, pf: pci)
        let gsp: GSPClient
        do { gsp = try stub.sim.connect() } catch {
            EphemeralStubs.stop(stub)
            throw error
        }
        let t = GSPStubTransport(
            gsp: gsp, name: "gsp-stub (pid \(stub.pid), started for this command) for \(pci)",
            pci: SysfsReader(root: root).device(pci), onClose: { EphemeralStubs.stop(stub) })
        return OpenedControlChannel(
            client: VGPUManagementClient(transport: t, scope: scope), device: device, stubPid: stub.pid,
            stubStartedHere: true)
    }

    /// The upstream backend's channel to `pf`, one per PF for the life of this process (backends
    /// are built more than once per command; they share the channel and its stub).
    static func upstream(env: HostEnvironment, pf: PCIAddress) -> ManagementControlChannel {
        upstreamChannels.channel(env: env, pf: pf)
    }

    static let upstreamChannels = ChannelCache()

    final class ChannelCache: @unchecked Sendable {
        private let lock = NSLock()
        private var channels: [String: ManagementControlChannel] = [:]

        func channel(env: HostEnvironment, pf: PCIAddress) -> ManagementControlChannel {
            let root = env.root
            return lock.withLock {
                let key = "\(root.path)|\(pf)"
                if let c = channels[key] { return c }
                let c = ManagementControlChannel(
                    root: root, pf: pf,
                    open: { () throws(VirtualFunctionsError) -> VGPUManagementClient in
                        try VirtualFunctionsError.wrapping(.controlChannel) {
                            try ControlChannels.open(env: env, pci: pf).client
                        }
                    })
                channels[key] = c
                return c
            }
        }
    }
}
