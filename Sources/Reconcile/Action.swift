import HostKit

/// One step of a plan. Every step is idempotent: carried out again on a host where it already
/// took effect, it changes nothing (that is what makes roll-forward recovery safe).
public enum Action: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Give a device vgpuctl assigned back to its recorded drivers.
    case releasePassthrough(PCIAddress)
    /// Bind a device (and its companions) to its VFIO driver.
    case assignPassthrough(PCIAddress)
    /// Clear driver_override and bind the host driver (a device left on VFIO by someone else).
    case bindHostDriver(PCIAddress)
    /// Remove the vGPU type of a VF.
    case clearType(vf: PCIAddress, type: String)
    /// `sriov_numvfs` 0.
    case disableVFs(pf: PCIAddress, count: Int)
    /// `sriov_numvfs` N (with autoprobe for backends whose VFs need their vendor driver).
    case enableVFs(pf: PCIAddress, count: Int, autoprobe: Bool)
    /// Give a VF a vGPU type.
    case assignType(vf: PCIAddress, type: String, guest: String?)

    /// The device the step changes.
    public var device: PCIAddress {
        switch self {
        case .releasePassthrough(let a), .assignPassthrough(let a), .bindHostDriver(let a): a
        case .clearType(let vf, _), .assignType(let vf, _, _): vf
        case .disableVFs(let pf, _), .enableVFs(let pf, _, _): pf
        }
    }

    /// The phase, for ordering and printing: driver binding, VF count, types, hand-off.
    public var phase: String {
        switch self {
        case .releasePassthrough, .bindHostDriver: "driver"
        case .disableVFs, .enableVFs: "vfs"
        case .clearType, .assignType: "types"
        case .assignPassthrough: "handoff"
        }
    }

    public var description: String {
        switch self {
        case .releasePassthrough(let a): "release \(a) from VFIO back to its previous driver"
        case .assignPassthrough(let a): "assign \(a) to its VFIO driver"
        case .bindHostDriver(let a): "bind \(a) back to its host driver"
        case .clearType(let vf, let t): "clear vGPU type \(t) from \(vf)"
        case .disableVFs(let pf, let n): "disable the \(n) VFs of \(pf)"
        case .enableVFs(let pf, let n, let p): "enable \(n) VFs on \(pf)\(p ? " (drivers probe them)" : "")"
        case .assignType(let vf, let t, let g): "give \(vf) vGPU type \(t)" + (g.map { " for guest \($0)" } ?? "")
        }
    }
}
