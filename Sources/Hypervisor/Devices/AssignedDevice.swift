import HostKit
import Passthrough

/// A host device to hand to a guest: a PCI function (a whole GPU, a VF, any VFIO device) with
/// the functions that go with it, or an mdev.
public struct AssignedDevice: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        case pci(PCIAddress)
        /// An mdev: its UUID, its sysfs directory as the host sees it, its type and parent.
        case mdev(uuid: String, sysfsPath: String, type: String?, parent: PCIAddress?)
    }

    public var source: Source
    public var vendorID: UInt16?
    public var deviceID: UInt16?
    /// A Grace GPU (nvgrace-gpu-vfio-pci): not hot-pluggable, eight guest NUMA nodes.
    public var grace: Bool
    /// The VFIO driver it is (or will be) bound to.
    public var vfioDriver: String
    /// Other functions of the same device in its IOMMU group, handed to the guest with it
    /// (a GPU's audio function), sorted.
    public var companions: [PCIAddress]
    /// What `passthrough assign` would still do (empty when the device is assigned).
    public var pendingSteps: [PassthroughManager.Step]
    /// The EGM region of a Grace GPU's socket.
    public var egm: Inventory.EGMRegion?
    /// A VF that carries a vGPU and is handed over without rebinding (vendor VFIO: bound to
    /// `nvidia`; mdev: the mdev on it), with the VF's address.
    public var vgpu: (vf: PCIAddress, kind: TypedVF)?

    public static func == (a: AssignedDevice, b: AssignedDevice) -> Bool {
        a.source == b.source && a.vendorID == b.vendorID && a.deviceID == b.deviceID && a.grace == b.grace
            && a.vfioDriver == b.vfioDriver
            && a.companions == b.companions && a.pendingSteps == b.pendingSteps && a.egm == b.egm
            && a.vgpu?.vf == b.vgpu?.vf && a.vgpu?.kind == b.vgpu?.kind
    }

    /// Whether the device must keep its driver: libvirt must not manage it (`managed='no'`).
    public var keepsDriver: Bool { if case .vendor = vgpu?.kind { true } else { false } }

    public init(
        source: Source, vendorID: UInt16? = nil, deviceID: UInt16? = nil, grace: Bool = false,
        vfioDriver: String = "vfio-pci",
        companions: [PCIAddress] = [], pendingSteps: [PassthroughManager.Step] = [], egm: Inventory.EGMRegion? = nil
    ) {
        self.source = source
        self.vendorID = vendorID
        self.deviceID = deviceID
        self.grace = grace
        self.vfioDriver = vfioDriver
        self.companions = companions
        self.pendingSteps = pendingSteps
        self.egm = egm
    }

    /// The PCI address, for a PCI device.
    public var address: PCIAddress? {
        if case .pci(let a) = source { return a }
        return nil
    }

    /// The QEMU id of the device (``QEMUDeviceID``).
    public var qemuID: String {
        switch source {
        case .pci(let a): QEMUDeviceID.hostdev(a)
        case .mdev(let uuid, _, _, _): QEMUDeviceID.hostdev(mdev: uuid)
        }
    }

    /// The device's name for messages: its address or mdev UUID.
    public var name: String {
        switch source {
        case .pci(let a): a.description
        case .mdev(let uuid, _, _, _): "mdev \(uuid)"
        }
    }

    /// Whether `passthrough assign` still has to run for it.
    public var isPlanned: Bool { !pendingSteps.isEmpty }
}
