import Foundation
import HostKit
import Reconcile
import VGPUTypes
import VirtualFunctions

extension HostContext {
    /// The control channels of the upstream backend: stage 2's fwctl channel (the ioctl on a
    /// real host, gsp-stub over the GSP queues on a simulated one; see ``ControlChannels``),
    /// opened on first use and shared by every backend of the PF in this process.
    var vgpuChannels: ControlChannelFactory {
        let env = self.env
        return { (pf: PCIAddress) throws(VirtualFunctionsError) -> (any VGPUControlChannel)? in
            ControlChannels.upstream(env: env, pf: pf)
        }
    }

    /// The vGPU backend of a PF (generic SR-IOV when the host offers no types for it).
    func vgpuBackend(_ pf: PCIAddress) throws(VirtualFunctionsError) -> any VGPUBackend {
        try VGPUBackends.detect(
            root: root, kernel: kernel, pf: pf, channels: vgpuChannels, scrubbers: scrubbers, models: env.vgpuCatalogs)
    }

    /// The reconciler's provider (nil for PFs without vGPU types).
    var vgpuBackendProvider: BackendProvider {
        VGPUBackends.provider(
            root: root, kernel: kernel, channels: vgpuChannels, scrubbers: scrubbers, models: env.vgpuCatalogs)
    }

    /// The PF of a VF named on the command line (invalid input when it is not a VF).
    func pfOf(_ vf: PCIAddress) throws(CommandError) -> PCIAddress {
        guard let d = sysfs.device(vf) else {
            throw .invalid(
                .noDevice, "no PCI device \(vf) under \(root.url(HostRoot.pciDevices)); 'vgpuctl vf list' shows the VFs"
            )
        }
        guard let pf = d.physfn else {
            throw .invalid(.wrongDevice, "\(vf) is not a VF (it has no physfn); name a VF of an SR-IOV PF")
        }
        return pf
    }
}
