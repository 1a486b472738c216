import HostKit
import SystemPackage
import VGPUTypes

/// Mediated devices (`Documentation/driver-api/vfio-mediated-device.rst`), NVIDIA vGPU <= 16: on
/// an SR-IOV GPU each VF bound to `nvidia` is an mdev parent
/// (`sys/class/mdev_bus/<VF>/mdev_supported_types/nvidia-<id>/{name,description,
/// available_instances,create,devices/}`) and carries at most one mdev. Devices are created by
/// writing a UUID to `create` and removed with `echo 1 > sys/bus/mdev/devices/<uuid>/remove`.
/// The UUID is derived from (PF, VF index, type) (``MdevUUID``), so a device recreated for the
/// same VF and type keeps its identity.
public struct MdevInterface: DriverFileInterface {
    public let files: DriverFiles

    public init(root: HostRoot, kernel: any Kernel, catalog: VGPUCatalog) {
        files = DriverFiles(root: root, kernel: kernel, catalog: catalog)
    }

    public var kind: VGPUBackendKind { .mdev }

    static func typesDir(_ vf: PCIAddress) -> String { "\(HostRoot.mdevBus)/\(vf)/mdev_supported_types" }

    /// One mdev type of a parent, as its files say.
    struct MdevType {
        var directory: String
        var id: Int?
        var name: String
        var description: MdevFormat.Description?
        var available: Int
        /// UUIDs of the devices of this type on the parent.
        var devices: [String]
    }

    func types(_ vf: PCIAddress) -> [MdevType] {
        let base = Self.typesDir(vf)
        return sysfs.list(base).compactMap { d -> MdevType? in
            guard let name = sysfs.text("\(base)/\(d)/name") else { return nil }
            return MdevType(
                directory: d, id: MdevFormat.typeID(d), name: VGPUNames.profileName(name),
                description: sysfs.text("\(base)/\(d)/description").flatMap(MdevFormat.description),
                available: MdevFormat.availableInstances(sysfs.text("\(base)/\(d)/available_instances")) ?? 0,
                devices: sysfs.list("\(base)/\(d)/devices").filter(MdevUUID.isUUID))
        }
    }

    public func unusable(_ vf: VFRef) -> String? {
        if sysfs.exists(Self.typesDir(vf.address)) { return nil }
        let drv = sysfs.device(vf.address)?.driver
        return
            "\(vf.address) is not an mdev parent (no \(Self.typesDir(vf.address))): it is \(drv.map { "bound to \($0)" } ?? "not bound to a driver"); NVIDIA's mdev types appear on VFs bound to nvidia"
    }

    public func current(_ vf: VFRef) throws(VirtualFunctionsError) -> DriverAssignment? {
        for t in types(vf.address) {
            if let uuid = t.devices.first { return DriverAssignment(typeName: t.name, typeID: t.id, mdevUUID: uuid) }
        }
        return nil
    }

    public func creatable(_ vf: VFRef) throws(VirtualFunctionsError) -> [String]? {
        types(vf.address).filter { $0.available > 0 }.map(\.name)
    }

    public func create(_ type: VGPUCatalog.VGPUType, on vf: VFRef, entry: GPUBook.Entry) throws(VirtualFunctionsError) {
        let all = types(vf.address)
        guard let t = all.first(where: { $0.name == type.name }) else {
            throw .failed(
                .unknownType,
                "\(vf.address) has no mdev type named \(VGPUNames.driverName(type.name)) (it offers \(all.map(\.name).joined(separator: ", ")))"
            )
        }
        if let fb = t.description?.framebufferMiB, fb != type.nominalMiB {
            throw .failed(
                .driverDisagrees,
                "\(vf.address)'s mdev type \(t.directory) (\(t.name)) reports framebuffer=\(fb)M, but the catalog \(catalog.name) says \(type.nominalMiB) MiB; fix the profile file"
            )
        }
        guard t.available > 0 else {
            throw .failed(
                .driverDisagrees,
                "the nvidia driver shows available_instances 0 for \(t.name) (\(t.directory)) on \(vf.address), although vgpuctl's book has room for it; the driver's view wins: see 'vgpuctl profile list \(vf.pf)'"
            )
        }
        let uuid = MdevUUID.uuid(pf: vf.pf, vfIndex: vf.index, type: type.name)
        do { try kernel.write(uuid, to: .mdevCreate(parent: vf.address, type: t.directory)) } catch {
            switch error.errno {
            case .fileExists:
                throw .failed(
                    .driverFile,
                    "an mdev with UUID \(uuid) already exists (writing \(error.path) gave EEXIST); remove it first",
                    underlying: error)
            case .invalidArgument:
                throw .failed(
                    .driverDisagrees,
                    "the nvidia driver refused to create \(t.name) on \(vf.address) (EINVAL): it cannot hold it now",
                    underlying: error)
            default:
                throw VirtualFunctionsError(.driverFile, wrapping: error.explained(device: nil))
            }
        }
    }

    public func destroy(_ vf: VFRef, current: DriverAssignment) throws(VirtualFunctionsError) {
        guard let uuid = current.mdevUUID else { return }
        do { try kernel.write("1", to: .mdevRemove(uuid: uuid)) } catch {
            if error.errno == .resourceBusy {
                throw .refused(
                    .vfNotFree,
                    "mdev \(uuid) on \(vf.address) is in use (EBUSY): a VM has it open; stop the VM first",
                    underlying: error)
            }
            throw VirtualFunctionsError(.driverFile, wrapping: error.explained(device: nil))
        }
    }

    public func handoff(_ vf: VFRef, current: DriverAssignment?) -> Handoff {
        guard let uuid = current?.mdevUUID else { return Handoff(sysfsdev: nil, next: nil, qemu: nil) }
        return .asIs("/sys/bus/mdev/devices/\(uuid)", id: "vgpu-\(uuid.prefix(8))")
    }
}
