import HostKit

/// vGPU types on SR-IOV VFs, as the core sees them (the backends that implement this live in
/// staging/VirtualFunctions, stage 3 of the upstream vGPU plan; the CLI edge hands them in).
///
/// One interface, several backends chosen from what the host has (see ROADMAP.md):
/// - `upstream`: the stage-2 control channel (fwctl on a real host, gsp-stub on a simulated one):
///   `VGPU_MGMT_ADD_TYPE`, then `ASSIGN_TYPE`/`DEASSIGN_TYPE`;
/// - `vendorSysfs`: NVIDIA's vendor VFIO sysfs (vGPU 17+): `nvidia/creatable_vgpu_types` and
///   `nvidia/current_vgpu_type` on each VF (the VF stays bound to `nvidia`, its VFIO driver);
/// - `mdev`: mediated devices (vGPU <= 16): `mdev_supported_types/<type>/create`;
/// - `generic`: plain SR-IOV, no types (a VF is handed out as it is).
///
/// The reconciler (Sources/Reconcile) reads and changes VF types only through this protocol.
public protocol VGPUBackend {
    /// Which backend this is.
    var kind: VGPUBackendKind { get }

    /// The vGPU types the GPU behind `pf` supports, with how many more of each it can take now.
    func types(pf: PCIAddress) throws -> [VGPUTypeAvailability]

    /// The names of the vGPU types the GPU behind `pf` supports, in the order of `types(pf:)`,
    /// without what each can still take (a backend that knows them without asking the driver
    /// says so here: the planner only checks that a configured type exists).
    func typeNames(pf: PCIAddress) throws -> [String]

    /// The type each VF of `pf` has now (nil: no type), in VF index order.
    func assignedTypes(pf: PCIAddress) throws -> [(vf: PCIAddress, type: String?)]

    /// Gives `vf` the type `name` (a profile name such as `H100XM-10C`). Refuses with an
    /// explanation (numbers included) when the GPU cannot hold it; changes nothing then.
    func assign(type name: String, vf: PCIAddress) throws

    /// Removes the type of `vf` (no-op when it has none). Callers check VFIO holders first.
    func clear(vf: PCIAddress) throws

    /// Checks, changing nothing, that the GPU can hold a plan: with `vfCount` VFs (all VFs
    /// recreated empty when `fresh`), after clearing the VFs at `clearing` (VF indices), the types
    /// in `adding` placed on the given VF indices in order. Throws the refusal with numbers.
    func checkPlan(pf: PCIAddress, vfCount: Int, fresh: Bool, clearing: [Int], adding: [(vf: Int, type: String)])
        throws
}

extension VGPUBackend {
    /// The names, from `types(pf:)`.
    public func typeNames(pf: PCIAddress) throws -> [String] { try types(pf: pf).map(\.name) }

    /// Backends without bookkeeping accept any plan (the generic backend has no types).
    public func checkPlan(pf: PCIAddress, vfCount: Int, fresh: Bool, clearing: [Int], adding: [(vf: Int, type: String)])
        throws
    {}
}

/// The backends, by what the host offers.
public enum VGPUBackendKind: String, Sendable, Codable, CaseIterable {
    case upstream
    case vendorSysfs = "vendor-sysfs"
    case mdev
    case generic
}

/// A vGPU type and how many more instances the GPU can take right now.
public struct VGPUTypeAvailability: Sendable, Equatable, Codable {
    public var name: String
    public var framebufferMiB: Int
    public var maxInstances: Int
    public var available: Int

    public init(name: String, framebufferMiB: Int, maxInstances: Int, available: Int) {
        self.name = name
        self.framebufferMiB = framebufferMiB
        self.maxInstances = maxInstances
        self.available = available
    }
}
