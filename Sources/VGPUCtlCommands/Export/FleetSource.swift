import Fleet
import Foundation
import HostKit
import Reconcile
import VirtualFunctions

extension HostContext {
    /// The fleet scanner of this host: pci.ids names from libpci, VF types from the staging
    /// vGPU backends (the edge is where staging modules are wired in).
    func fleetScanner() -> FleetScanner {
        let names = try? LibPCI(root: root)
        let root = self.root
        let kernel = self.kernel
        let channels = vgpuChannels
        let typed: TypedVFSource = { (pf: PCIAddress) throws -> [TypedVF]? in
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

extension HostContext {
    /// The fleet devices this host will offer once `config` is applied (nothing is changed).
    func projectedFleet(_ config: HostConfig) throws -> FleetSnapshot {
        let scanner = fleetScanner()
        let plan = try planner.plan(config, usersOfEveryDevice: false)
        let selected = try planner.resolve(config)
        let root = self.root
        let kernel = self.kernel
        let channels = vgpuChannels
        let mdevTypes: MdevTypeDirectories = { (pf: PCIAddress) throws -> ((String) -> String?)? in
            guard try VGPUBackends.interfaceKind(root: root, pf: pf) == .mdev,
                let b = try VGPUBackends.detect(root: root, kernel: kernel, pf: pf, channels: channels)
                    as? TypedVFBackend
            else { return nil }
            let ids = Dictionary(b.catalog.types.map { ($0.name, "nvidia-\($0.id)") }, uniquingKeysWith: { a, _ in a })
            return { ids[$0] }
        }
        return try scanner.project(scanner.scan(), plan: plan, selected: selected, mdevTypes: mdevTypes)
    }
}
