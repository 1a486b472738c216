import HostKit

/// One device a fleet engine (the kubelet, Nova) can hand to a VM, as the host is now.
///
/// Kinds follow what the engines consume: a whole GPU bound to its VFIO driver (with the other
/// NVIDIA functions of its IOMMU group), an mdev vGPU (by UUID), a VF with a vGPU type given
/// through NVIDIA's vendor VFIO sysfs or the upstream control channel, and a plain VF bound to
/// vfio-pci (generic SR-IOV, no type).
public struct FleetDevice: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable {
        case passthrough
        case mdev
        case typedVF = "typed-vf"
        case genericVF = "generic-vf"
    }

    public var kind: Kind
    /// The kubelet's device id: the function's address, or the mdev's UUID.
    public var id: String
    /// The extended resource name (`nvidia.com/...`).
    public var resource: String
    /// PCI functions handed over together (a GPU and its companions; one VF).
    public var functions: [PCIAddress]
    /// The mdev UUID of an mdev vGPU.
    public var mdevUUID: String?
    /// The mdev type directory (`nvidia-1234`) of an mdev vGPU.
    public var mdevType: String?
    /// The vGPU profile (`H100XM-20C`) of an mdev or typed VF.
    public var vgpuType: String?
    /// The physical GPU (the device itself for passthrough, the PF for VFs and mdevs).
    public var gpu: PCIAddress
    public var vendorID: UInt16
    public var deviceID: UInt16
    /// The GPU's NUMA node (`numa_node` of its PCI function: on Grace the CPU-bearing node),
    /// nil when the platform does not say.
    public var numaNode: Int?
    /// The IOMMU group of the function (of the mdev, for mdevs).
    public var iommuGroup: Int?
    /// `vfioN` character devices of the functions (`/dev/vfio/devices/vfioN`, iommufd cdev).
    public var vfioCdevs: [String]
    /// Nil when the device can be handed out; else why not (driver lost, being reconfigured).
    public var unhealthy: String?

    public init(
        kind: Kind, id: String, resource: String, functions: [PCIAddress], mdevUUID: String? = nil,
        mdevType: String? = nil, vgpuType: String? = nil, gpu: PCIAddress, vendorID: UInt16, deviceID: UInt16,
        numaNode: Int?,
        iommuGroup: Int?, vfioCdevs: [String] = [], unhealthy: String? = nil
    ) {
        self.kind = kind
        self.id = id
        self.resource = resource
        self.functions = functions
        self.mdevUUID = mdevUUID
        self.mdevType = mdevType
        self.vgpuType = vgpuType
        self.gpu = gpu
        self.vendorID = vendorID
        self.deviceID = deviceID
        self.numaNode = numaNode
        self.iommuGroup = iommuGroup
        self.vfioCdevs = vfioCdevs
        self.unhealthy = unhealthy
    }

    public var healthy: Bool { unhealthy == nil }
}

/// Every device of a host a fleet engine can use, with the host's EGM regions.
public struct FleetSnapshot: Sendable, Equatable, Codable {
    public var devices: [FleetDevice]
    public var egm: [FleetEGM]
    /// Whether `dev/iommu` (iommufd) exists.
    public var hasIOMMUFD: Bool

    public init(devices: [FleetDevice], egm: [FleetEGM], hasIOMMUFD: Bool) {
        self.devices = devices
        self.egm = egm
        self.hasIOMMUFD = hasIOMMUFD
    }

    /// Resource names in first-seen order.
    public var resources: [String] {
        var seen = Set<String>()
        return devices.map(\.resource).filter { seen.insert($0).inserted }
    }

    public func devices(of resource: String) -> [FleetDevice] { devices.filter { $0.resource == resource } }
}

/// An EGM region: its `/dev/egmN` node and the GPUs whose memory it is.
public struct FleetEGM: Sendable, Equatable, Codable {
    public var device: String
    public var gpus: [PCIAddress]
    public init(device: String, gpus: [PCIAddress]) {
        self.device = device
        self.gpus = gpus
    }
}
