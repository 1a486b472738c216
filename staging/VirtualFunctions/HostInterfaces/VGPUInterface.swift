import HostKit
import VGPUTypes

/// The driver side of a typed backend: how one host interface (vendor sysfs, mdev, the upstream
/// control channel) reports and changes the vGPU type of a VF. ``TypedVFBackend`` puts the
/// manager's book in front of it; an interface never decides capacity itself, it reports what
/// the driver says and carries out what the book planned.
public protocol VGPUInterface {
    /// Which backend this interface makes.
    var kind: VGPUBackendKind { get }

    /// Whether the VFs must be bound to the vendor driver to carry types (they are enabled with
    /// `sriov_drivers_autoprobe` on, and never rebound).
    var vfsNeedVendorDriver: Bool { get }

    /// Readies the interface for the GPU's catalog (upstream: `ADD_TYPE` for the types the
    /// firmware does not know yet). Called before types are read or changed.
    func prepare(_ catalog: VGPUCatalog) throws(VirtualFunctionsError)

    /// What the driver says the VF carries now, nil when it has no vGPU.
    func current(_ vf: VFRef) throws(VirtualFunctionsError) -> DriverAssignment?

    /// `current` of every VF of one PF at once (`vfs`: all of them, in index order), by index:
    /// what a read of the whole GPU uses, so an interface can read what its VFs share once.
    func currentAll(_ vfs: [VFRef]) throws(VirtualFunctionsError) -> [Int: DriverAssignment]

    /// The type names the driver would create on the VF now (nil: the interface cannot tell).
    func creatable(_ vf: VFRef) throws(VirtualFunctionsError) -> [String]?

    /// Creates `type` on the VF as the book planned it (`entry`: placement, channels).
    func create(_ type: VGPUCatalog.VGPUType, on vf: VFRef, entry: GPUBook.Entry) throws(VirtualFunctionsError)

    /// Removes the VF's vGPU.
    func destroy(_ vf: VFRef, current: DriverAssignment) throws(VirtualFunctionsError)

    /// Why the VF cannot carry a type now (e.g. not bound to `nvidia`), nil when it can.
    func unusable(_ vf: VFRef) -> String?

    /// How to give the VF to a VM.
    func handoff(_ vf: VFRef, current: DriverAssignment?) -> Handoff
}

extension VGPUInterface {
    public func currentAll(_ vfs: [VFRef]) throws(VirtualFunctionsError) -> [Int: DriverAssignment] {
        var out: [Int: DriverAssignment] = [:]
        for vf in vfs { if let a = try current(vf) { out[vf.index] = a } }
        return out
    }
}

/// A VF of a PF: its address and its index (`virtfn<index>`).
public struct VFRef: Sendable, Equatable, CustomStringConvertible {
    public var pf: PCIAddress
    public var index: Int
    public var address: PCIAddress
    public init(pf: PCIAddress, index: Int, address: PCIAddress) {
        self.pf = pf
        self.index = index
        self.address = address
    }
    public var description: String { "\(address) (VF \(index) of \(pf))" }
}

/// What a driver reports about a VF's vGPU.
public struct DriverAssignment: Sendable, Equatable, Codable {
    /// Profile name (`H100XM-10C`), or `type id N` when the driver's id is not in the catalog.
    public var typeName: String
    /// The driver's numeric type id, when the interface has one.
    public var typeID: Int?
    /// First placement unit, when the driver tells.
    public var placement: Int?
    /// First channel of the VF's range, when the driver tells.
    public var channelOffset: Int?
    /// The mdev device's UUID (mdev backend).
    public var mdevUUID: String?
    /// The VF's channels, copy engines and BAR1 window as the firmware reports them (upstream
    /// backend; nil when the interface reports none: vendor sysfs and mdev carry no such figures).
    public var firmware: VFFirmwareReport?

    public init(
        typeName: String, typeID: Int? = nil, placement: Int? = nil, channelOffset: Int? = nil, mdevUUID: String? = nil,
        firmware: VFFirmwareReport? = nil
    ) {
        self.typeName = typeName
        self.typeID = typeID
        self.placement = placement
        self.channelOffset = channelOffset
        self.mdevUUID = mdevUUID
        self.firmware = firmware
    }
}

/// How a VF goes to a VM after it has its type.
public struct Handoff: Sendable, Equatable, Codable {
    /// The device as QEMU opens it: `/sys/bus/pci/devices/<VF>` (vendor sysfs, bound to `nvidia`),
    /// `/sys/bus/mdev/devices/<uuid>` (mdev), nil when the VF must first be bound to vfio-pci.
    public var sysfsdev: String?
    /// The next vgpuctl command, when there is one (`vgpuctl passthrough assign <VF>`).
    public var next: String?
    /// The QEMU argument, when the device can be handed over as it is.
    public var qemu: String?

    public init(sysfsdev: String?, next: String?, qemu: String?) {
        self.sysfsdev = sysfsdev
        self.next = next
        self.qemu = qemu
    }

    /// Through `passthrough assign` (vfio-pci), then `qemu args`.
    public static func viaPassthrough(_ vf: PCIAddress) -> Handoff {
        Handoff(sysfsdev: nil, next: "vgpuctl passthrough assign \(vf) && vgpuctl qemu args \(vf)", qemu: nil)
    }

    /// As it is, through its sysfs path (QEMU's `vfio-pci,sysfsdev=`).
    public static func asIs(_ sysfsdev: String, id: String) -> Handoff {
        Handoff(sysfsdev: sysfsdev, next: nil, qemu: "-device vfio-pci,sysfsdev=\(sysfsdev),id=\(id)")
    }

    public var text: String { qemu ?? next ?? "-" }
}
