import HostKit
import Reconcile

/// How the CLI edge says what a PF's vGPU backend would make of a type name: nil when the PF has
/// no mdev backend (its typed VFs are handed over as VFs); else the mdev type directory
/// (`nvidia-1234`) of a profile name, nil for a name the GPU does not offer.
public typealias MdevTypeDirectories = (PCIAddress) throws -> ((String) -> String?)?

extension FleetScanner {
    /// The devices the host will offer once `plan` is applied: every GPU a rule of the plan's
    /// config selects is replaced by what its rule makes of it (passthrough: the GPU with the
    /// companions the assignment binds too; vgpu: its VFs with the types they keep or are given,
    /// untyped VFs of a generic PF when the rule hands them to vfio-pci; host: nothing).
    /// Devices the config does not select stay as they are. Projected devices are healthy (the
    /// apply makes them so) and have no mdev UUID or `vfioN` node yet (the apply creates them).
    public func project(
        _ now: FleetSnapshot, plan: Planner.Plan, selected: [(PCIDevice, HostConfig.Rule)],
        mdevTypes: MdevTypeDirectories
    ) throws(FleetError) -> FleetSnapshot {
        let sysfs = SysfsReader(root: root)
        let byAddress = Dictionary(sysfs.allDevices().map { ($0.address, $0) }, uniquingKeysWith: { a, _ in a })
        let changed = Set(selected.map { $0.0.address })
        var out = now.devices.filter { !changed.contains($0.gpu) }
        for (gpu, rule) in selected {
            let steps = plan.devices.first { $0.device == gpu.address.description }?.steps ?? []
            let numa = gpu.numaNode >= 0 ? gpu.numaNode : nil
            switch rule.mode {
            case .host:
                continue
            case .passthrough:
                var d = passthrough(gpu, sysfs: sysfs, byAddress: byAddress, numa: numa, changing: nil)
                d.unhealthy = nil
                out.append(d)
            case .vgpu(let spec):
                out += try projectVFs(
                    gpu, spec: spec, steps: steps, sysfs: sysfs, byAddress: byAddress, numa: numa,
                    mdevTypes: mdevTypes)
            }
        }
        // In the order a scan of the applied host lists them: by GPU as sysfs lists GPUs, the
        // GPU itself before its VFs, VFs in index order (a stable sort keeps both).
        let order = Dictionary(byAddress.keys.sorted().enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        let sorted = out.enumerated().sorted { a, b in
            let (x, y) = (order[a.element.gpu] ?? Int.max, order[b.element.gpu] ?? Int.max)
            return x != y ? x < y : a.offset < b.offset
        }.map(\.element)
        return FleetSnapshot(devices: sorted, egm: now.egm, hasIOMMUFD: now.hasIOMMUFD)
    }

    func projectVFs(
        _ gpu: PCIDevice, spec: HostConfig.VGPUSpec, steps: [Action], sysfs: SysfsReader,
        byAddress: [PCIAddress: PCIDevice], numa: Int?, mdevTypes: MdevTypeDirectories
    ) throws(FleetError) -> [FleetDevice] {
        // The VFs and their types after the steps, in step order (as the executor runs them).
        var vfs = gpu.sriov?.vfs ?? []
        let current = try FleetError.wrapping(.scan) { try typedVFs(gpu.address) }
        var types: [PCIAddress: String] = [:]
        for t in current ?? [] { if let type = t.type { types[t.vf] = type } }
        for s in steps {
            switch s {
            case .disableVFs:
                vfs = []
                types = [:]
            case .enableVFs(_, let count, _):
                vfs = VFController(root: root, kernel: SysfsKernel(root: root), waiterFactory: { SysfsVFWaiter() })
                    .expectedVFs(gpu, count: count)
            case .clearType(let vf, _):
                types[vf] = nil
            case .assignType(let vf, let type, _):
                types[vf] = type
            case .releasePassthrough, .assignPassthrough, .bindHostDriver:
                continue
            }
        }
        let mdev = try FleetError.wrapping(.scan) { try mdevTypes(gpu.address) }
        // A VF that does not exist yet has the device id the PF gives its VFs.
        func ids(_ vf: PCIAddress) -> (UInt16, UInt16) {
            if let d = byAddress[vf] { return (d.vendorID, d.deviceID) }
            let vfDevice = sysfs.text(HostRoot.deviceFile(gpu.address, "sriov_vf_device")).flatMap {
                UInt16($0.trimmingCharacters(in: .whitespacesAndNewlines), radix: 16)
            }
            return (gpu.vendorID, vfDevice ?? gpu.deviceID)
        }
        var out: [FleetDevice] = []
        for vf in vfs {
            let (vendor, device) = ids(vf)
            if let type = types[vf] {
                if let mdev {
                    out.append(
                        FleetDevice(
                            kind: .mdev, id: vf.description, resource: ResourceNames.vgpu(type), functions: [vf],
                            mdevType: mdev(type), vgpuType: type, gpu: gpu.address, vendorID: vendor,
                            deviceID: device, numaNode: numa, iommuGroup: nil))
                } else {
                    out.append(
                        FleetDevice(
                            kind: .typedVF, id: vf.description, resource: ResourceNames.vgpu(type), functions: [vf],
                            vgpuType: type, gpu: gpu.address, vendorID: vendor, deviceID: device, numaNode: numa,
                            iommuGroup: byAddress[vf]?.iommuGroup))
                }
            } else if current == nil && spec.vfioHandoff {
                out.append(
                    FleetDevice(
                        kind: .genericVF, id: vf.description,
                        resource: ResourceNames.passthrough(
                            names(vendor, device) ?? PCIIDs.fallbackNames[device], deviceID: device),
                        functions: [vf], gpu: gpu.address, vendorID: vendor, deviceID: device, numaNode: numa,
                        iommuGroup: byAddress[vf]?.iommuGroup))
            }
        }
        return out
    }
}
