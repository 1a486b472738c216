import HostKit
import SystemPackage
import VGPUTypes

/// NVIDIA's vendor-specific VFIO sysfs (vGPU 17+, Ada/Hopper and newer): each VF, bound to the
/// `nvidia` driver (which is its VFIO driver), has `nvidia/creatable_vgpu_types` (the types the
/// driver would create on it now: the list shrinks as sibling VFs take types, and a VF of a full
/// GPU prints only the header) and `nvidia/current_vgpu_type` (write a type id to create, `0` to
/// destroy). The creatable list is re-read before every creation. These VFs are never rebound.
public struct VendorSysfsInterface: DriverFileInterface {
    public let files: DriverFiles

    public init(root: HostRoot, kernel: any Kernel, catalog: VGPUCatalog) {
        files = DriverFiles(root: root, kernel: kernel, catalog: catalog)
    }

    public var kind: VGPUBackendKind { .vendorSysfs }

    static func file(_ vf: PCIAddress, _ name: String) -> String { HostRoot.deviceFile(vf, "nvidia/\(name)") }

    public func unusable(_ vf: VFRef) -> String? {
        if sysfs.exists(Self.file(vf.address, "current_vgpu_type")) { return nil }
        let drv = sysfs.device(vf.address)?.driver
        if drv == "nvidia" { return Self.probeDidNotCreate(vf) }
        return
            "\(vf.address) has no nvidia/current_vgpu_type: it is \(drv.map { "bound to \($0)" } ?? "not bound to a driver"); NVIDIA's vendor VFIO needs the VF bound to nvidia (enable the VFs with the nvidia driver probing them, e.g. 'vgpuctl vf enable \(vf.pf) --count N --autoprobe')"
    }

    /// The driver's creatable list of a VF, parsed.
    func creatableList(_ vf: PCIAddress) throws(VirtualFunctionsError) -> [VendorSysfsFormat.CreatableType] {
        let path = Self.file(vf, "creatable_vgpu_types")
        guard let text = sysfs.text(path) else { throw .failed(.driverFile, "cannot read \(root.url(path))") }
        guard let list = VendorSysfsFormat.creatable(text) else {
            throw .failed(
                .driverFile,
                "\(root.url(path)) is not in the driver's format ('ID : vGPU Name' header, '<id> : <name>' lines)")
        }
        return list
    }

    public func current(_ vf: VFRef) throws(VirtualFunctionsError) -> DriverAssignment? {
        var names = TypeNames(vfs: sysfs.device(vf.pf)?.sriov?.vfs ?? [])
        return current(vf.address, names: &names)
    }

    /// Every VF's type with one read of each creatable list at most (`current` of each VF
    /// would read the PF and the lists again for every typed VF).
    public func currentAll(_ vfs: [VFRef]) throws(VirtualFunctionsError) -> [Int: DriverAssignment] {
        var names = TypeNames(vfs: vfs.map(\.address))
        var out: [Int: DriverAssignment] = [:]
        for vf in vfs { if let a = current(vf.address, names: &names) { out[vf.index] = a } }
        return out
    }

    func current(_ vf: PCIAddress, names: inout TypeNames) -> DriverAssignment? {
        guard let id = VendorSysfsFormat.currentType(sysfs.text(Self.file(vf, "current_vgpu_type"))) else {
            return nil
        }
        let placement = VendorSysfsFormat.optionalNumber(sysfs.text(Self.file(vf, "placement_id")))
        return DriverAssignment(typeName: names.name(ofID: id, self), typeID: id, placement: placement)
    }

    /// The profile names of driver type ids: from the creatable lists of the PF's VFs (the
    /// driver's own table; each list read once, when an id is first looked up past the lists
    /// read so far), else from the catalog.
    struct TypeNames {
        let vfs: [PCIAddress]
        /// The lists read, in VF order (nil: unreadable).
        var lists: [[VendorSysfsFormat.CreatableType]?] = []

        init(vfs: [PCIAddress]) { self.vfs = vfs }

        mutating func name(ofID id: Int, _ i: VendorSysfsInterface) -> String {
            for k in vfs.indices {
                if k == lists.count { lists.append(try? i.creatableList(vfs[k])) }
                if let hit = lists[k]?.first(where: { $0.id == id }) { return hit.name }
            }
            return i.catalog.type(id: id)?.name ?? "type id \(id)"
        }
    }

    public func creatable(_ vf: VFRef) throws(VirtualFunctionsError) -> [String]? {
        try creatableList(vf.address).map(\.name)
    }

    public func create(_ type: VGPUCatalog.VGPUType, on vf: VFRef, entry: GPUBook.Entry) throws(VirtualFunctionsError) {
        // Re-read: the list shrinks as sibling VFs take types.
        let list = try creatableList(vf.address)
        guard let hit = list.first(where: { $0.name == type.name }) else {
            let offered = list.map(\.name)
            throw .failed(
                .driverDisagrees,
                "the nvidia driver does not offer \(type.name) on \(vf.address) now (its creatable_vgpu_types lists \(offered.isEmpty ? "nothing" : offered.joined(separator: ", "))), although vgpuctl's book has room for it; the driver's view wins: see 'vgpuctl profile list \(vf.pf)'"
            )
        }
        try write(String(hit.id), vf)
    }

    public func destroy(_ vf: VFRef, current: DriverAssignment) throws(VirtualFunctionsError) {
        try write("0", vf)
    }

    func write(_ value: String, _ vf: VFRef) throws(VirtualFunctionsError) {
        do { try kernel.write(value, to: .currentVGPUType(vf.address)) } catch {
            throw explain(error, vf: vf)
        }
    }

    /// The driver's errnos as sentences (EINVAL: not creatable now; EBUSY: the vGPU is in use or
    /// the VF already has one; ENOENT: not bound to nvidia).
    /// A VF bound to `nvidia` without `nvidia/`: the driver's probe did not create its files.
    static func probeDidNotCreate(_ vf: VFRef) -> String {
        "\(vf.address) is bound to nvidia but has no nvidia/ directory: the nvidia driver's probe did not create its vGPU files (see 'dmesg'); disable and re-enable the VFs of \(vf.pf) ('vgpuctl vf disable \(vf.pf)', then apply again)"
    }

    func explain(_ e: KernelError, vf: VFRef) -> VirtualFunctionsError {
        switch e.errno {
        case .invalidArgument:
            return .failed(
                .driverDisagrees,
                "the nvidia driver refused type id \(e.value) on \(vf.address) (EINVAL): it is not creatable there now; see 'vgpuctl profile list \(vf.pf) --creatable'",
                underlying: e)
        case .resourceBusy:
            return .refused(
                .vfBusy,
                "the nvidia driver reports \(vf.address) busy (EBUSY): its vGPU is in use by a VM, or it already has one",
                underlying: e)
        case .noSuchFileOrDirectory:
            if sysfs.device(vf.address)?.driver == "nvidia" {
                return .failed(.unusable, Self.probeDidNotCreate(vf), underlying: e)
            }
            return .failed(
                .unusable,
                "\(vf.address) has no nvidia/current_vgpu_type: the VF is not bound to the nvidia driver",
                underlying: e)
        default:
            return VirtualFunctionsError(.driverFile, wrapping: e.explained(device: nil))
        }
    }

    public func handoff(_ vf: VFRef, current: DriverAssignment?) -> Handoff {
        .asIs(
            "/sys/bus/pci/devices/\(vf.address)",
            id: "vgpu-" + vf.address.description.replacingOccurrences(of: ":", with: "-"))
    }
}
