import Foundation
import HostKit
import Reconcile

/// What a GPU's vGPU backend says about each of its VFs (supplied by the CLI edge, which owns
/// the staging backends).
public struct TypedVF: Sendable, Equatable {
    public var vf: PCIAddress
    /// The profile (`H100XM-20C`), nil when the VF has no type.
    public var type: String?
    /// The mdev's UUID when the backend is mdev.
    public var mdevUUID: String?
    /// The mdev type's directory name (`nvidia-1234`) when the backend is mdev.
    public var mdevType: String?
    public init(vf: PCIAddress, type: String?, mdevUUID: String? = nil, mdevType: String? = nil) {
        self.vf = vf
        self.type = type
        self.mdevUUID = mdevUUID
        self.mdevType = mdevType
    }
}

/// The typed VFs of a PF, nil when the PF offers no vGPU types (generic SR-IOV).
public typealias TypedVFSource = (PCIAddress) throws -> [TypedVF]?

/// Reads the devices of a host a fleet engine can hand to VMs (see ``FleetDevice``).
///
/// Only reads: sysfs under the root, the apply journal (a GPU an apply is changing is
/// unhealthy until the apply ends), and the typed-VF source.
public struct FleetScanner {
    public let root: HostRoot
    public let names: (UInt16, UInt16) -> String?
    public let typedVFs: TypedVFSource

    /// `names(vendor, device)` gives the pci.ids name (libpci), nil when unknown.
    public init(root: HostRoot, names: @escaping (UInt16, UInt16) -> String?, typedVFs: @escaping TypedVFSource) {
        self.root = root
        self.names = names
        self.typedVFs = typedVFs
    }

    static let vfioDrivers: Set<String> = ["vfio-pci", "nvgrace_gpu_vfio_pci"]

    public func scan() -> FleetSnapshot {
        let sysfs = SysfsReader(root: root)
        let all = sysfs.allDevices()
        let byAddress = Dictionary(all.map { ($0.address, $0) }, uniquingKeysWith: { a, _ in a })
        let busy = reconfiguring(byAddress)
        var out: [FleetDevice] = []
        for gpu in all where gpu.isNVIDIAGPU && !gpu.isVF {
            let numa = gpu.numaNode >= 0 ? gpu.numaNode : nil
            let changing =
                busy.unreadable ?? (busy.gpus.contains(gpu.address) ? "vgpuctl is reconfiguring \(gpu.address)" : nil)
            if let drv = gpu.driver, Self.vfioDrivers.contains(drv) {
                out.append(passthrough(gpu, sysfs: sysfs, byAddress: byAddress, numa: numa, changing: changing))
            }
            guard let sr = gpu.sriov, sr.numVFs > 0 else { continue }
            let typed: [TypedVF]?
            do { typed = try typedVFs(gpu.address) } catch {
                FileHandle.standardError.write(
                    Data(
                        "vgpuctl: warning: cannot read the vGPU types of \(gpu.address)'s VFs: \(ErrorChain.message(error))\n"
                            .utf8)
                )
                continue
            }
            if let typed {
                for t in typed {
                    if let d = typedDevice(t, gpu: gpu, sysfs: sysfs, numa: numa, changing: changing) { out.append(d) }
                }
            } else {
                for vf in sr.vfs {
                    guard let d = byAddress[vf], d.driver == "vfio-pci" else { continue }
                    out.append(
                        FleetDevice(
                            kind: .genericVF, id: vf.description,
                            resource: ResourceNames.passthrough(
                                names(d.vendorID, d.deviceID) ?? PCIIDs.fallbackNames[d.deviceID], deviceID: d.deviceID),
                            functions: [vf], gpu: gpu.address, vendorID: d.vendorID, deviceID: d.deviceID,
                            numaNode: numa,
                            iommuGroup: d.iommuGroup, vfioCdevs: cdevs(vf, sysfs), unhealthy: changing))
                }
            }
        }
        let egm = Inventory.egmRegions(sysfs).map {
            FleetEGM(device: $0.device, gpus: $0.gpus.compactMap(PCIAddress.init))
        }
        return FleetSnapshot(devices: out, egm: egm, hasIOMMUFD: sysfs.exists("dev/iommu"))
    }

    func passthrough(
        _ gpu: PCIDevice, sysfs: SysfsReader, byAddress: [PCIAddress: PCIDevice], numa: Int?, changing: String?
    ) -> FleetDevice {
        // Companions: the other functions of the GPU's IOMMU group (audio, Grace's extra
        // functions), which must be on VFIO too for the group to be viable. Bridges stay.
        var companions: [PCIDevice] = []
        if let g = gpu.iommuGroup {
            companions = sysfs.iommuGroupMembers(g).filter { $0 != gpu.address }.compactMap { byAddress[$0] }.filter {
                !$0.isBridge
            }
        }
        var problem = changing
        if problem == nil, let c = companions.first(where: { !($0.driver.map(Self.vfioDrivers.contains) ?? false) }) {
            problem =
                "\(c.address) in IOMMU group \(gpu.iommuGroup ?? -1) is \(c.driver.map { "bound to \($0)" } ?? "unbound"), so the group is not viable; run 'vgpuctl passthrough assign \(gpu.address) --include-group'"
        }
        let functions = [gpu.address] + companions.map(\.address)
        return FleetDevice(
            kind: .passthrough, id: gpu.address.description,
            resource: ResourceNames.passthrough(
                names(gpu.vendorID, gpu.deviceID) ?? PCIIDs.fallbackNames[gpu.deviceID], deviceID: gpu.deviceID),
            functions: functions, gpu: gpu.address, vendorID: gpu.vendorID, deviceID: gpu.deviceID, numaNode: numa,
            iommuGroup: gpu.iommuGroup, vfioCdevs: functions.flatMap { cdevs($0, sysfs) }, unhealthy: problem)
    }

    func typedDevice(_ t: TypedVF, gpu: PCIDevice, sysfs: SysfsReader, numa: Int?, changing: String?) -> FleetDevice? {
        guard let type = t.type else { return nil }
        let vf = sysfs.device(t.vf)
        if let uuid = t.mdevUUID {
            let dir = "sys/bus/mdev/devices/\(uuid)"
            let group = sysfs.linkName("\(dir)/iommu_group").flatMap { Int($0) }
            return FleetDevice(
                kind: .mdev, id: uuid, resource: ResourceNames.vgpu(type), functions: [t.vf], mdevUUID: uuid,
                mdevType: t.mdevType, vgpuType: type, gpu: gpu.address, vendorID: vf?.vendorID ?? gpu.vendorID,
                deviceID: vf?.deviceID ?? gpu.deviceID,
                numaNode: numa, iommuGroup: group, unhealthy: changing)
        }
        var problem = changing
        if problem == nil, vf?.driver == nil { problem = "\(t.vf) has no driver" }
        return FleetDevice(
            kind: .typedVF, id: t.vf.description, resource: ResourceNames.vgpu(type), functions: [t.vf],
            vgpuType: type, gpu: gpu.address, vendorID: vf?.vendorID ?? gpu.vendorID,
            deviceID: vf?.deviceID ?? gpu.deviceID,
            numaNode: numa, iommuGroup: vf?.iommuGroup, vfioCdevs: cdevs(t.vf, sysfs), unhealthy: problem)
    }

    /// The function's VFIO cdevs that exist as nodes (`vfioN`, for iommufd).
    func cdevs(_ a: PCIAddress, _ sysfs: SysfsReader) -> [String] { sysfs.vfioCdevs(a) }

    /// The GPUs an interrupted or running apply is changing (from its journal); when the
    /// journal cannot be read, why every GPU must be taken as changing.
    func reconfiguring(_ byAddress: [PCIAddress: PCIDevice]) -> (gpus: Set<PCIAddress>, unreadable: String?) {
        do {
            guard let j = try Journal.load(root) else { return ([], nil) }
            return (Set(j.steps.map { byAddress[$0.device]?.physfn ?? $0.device }), nil)
        } catch {
            return ([], "vgpuctl's apply journal cannot be read (\(error.message)); run 'vgpuctl recover'")
        }
    }
}
