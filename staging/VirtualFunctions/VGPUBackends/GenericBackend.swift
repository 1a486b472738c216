import HostKit
import VGPUTypes

/// Plain SR-IOV: the host offers no vGPU types for the PF, so a VF is handed out as it is
/// (bound to vfio-pci by `passthrough assign`).
public struct GenericBackend: VGPUBackend {
    public let root: HostRoot
    public let pf: PCIAddress

    public init(root: HostRoot, pf: PCIAddress) {
        self.root = root
        self.pf = pf
    }

    public var kind: VGPUBackendKind { .generic }

    public func types(pf: PCIAddress) throws(VirtualFunctionsError) -> [VGPUTypeAvailability] { [] }

    public func assignedTypes(pf p: PCIAddress) throws(VirtualFunctionsError) -> [(vf: PCIAddress, type: String?)] {
        (SysfsReader(root: root).device(p)?.sriov?.vfs ?? []).map { ($0, nil) }
    }

    public func assign(type name: String, vf: PCIAddress) throws(VirtualFunctionsError) {
        throw Self.noTypes(pf: pf, type: name)
    }

    /// Invalid input: a type asked of a PF that offers none.
    public static func noTypes(pf: PCIAddress, type: String) -> VirtualFunctionsError {
        .invalid(
            .noTypes,
            "\(pf) offers no vGPU types on this host (no NVIDIA vendor sysfs, no mdev types, no control channel), so it cannot take \(type): its VFs are handed out as they are; omit --type"
        )
    }

    public func clear(vf: PCIAddress) throws(VirtualFunctionsError) {}
}
