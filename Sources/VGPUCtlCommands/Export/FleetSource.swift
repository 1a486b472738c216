import Fleet
import Foundation
import HostKit
import VirtualFunctions

extension HostContext {
    /// The fleet scanner of this host: pci.ids names from libpci, VF types from the staging
    /// vGPU backends (the edge is where staging modules are wired in).
    func fleetScanner() -> FleetScanner {
        let names = try? LibPCI(root: root)
        let root = self.root
        let kernel = self.kernel
        let channels = vgpuChannels
        let typed: TypedVFSource = { (pf: PCIAddress) throws(VGPUError) -> [TypedVF]? in
            let kind = try VGPUBackends.interfaceKind(root: root, pf: pf)
            if kind == .generic { return nil }
            guard
                let b = try VGPUBackends.detect(root: root, kernel: kernel, pf: pf, channels: channels)
                    as? TypedVFBackend
            else { return nil }
            let view = try b.view()
            return view.vfs.enumerated().map { i, vf in
                let a = view.assignments[i]
                return TypedVF(
                    vf: vf, type: a?.typeName, mdevUUID: a?.mdevUUID, mdevType: a?.typeID.map { "nvidia-\($0)" })
            }
        }
        return FleetScanner(root: root, names: { v, d in names?.deviceName(vendor: v, device: d) }, typedVFs: typed)
    }
}
