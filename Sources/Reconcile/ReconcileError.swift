import HostKit

/// Reconcile's error codes (``ReconcileError``).
public enum ReconcileCode: String, ErrorCode {
    public static var module: String { "reconcile" }
    /// The host config file cannot be read or is malformed (the message says file:line:column).
    case badConfig
    /// A rule selects a device this host does not have (or a VF).
    case selection
    /// A rule asks what the selected device cannot do (no SR-IOV, too many VFs, unknown type, a
    /// mix of types that does not fit).
    case unsupported
    /// The plan holds a step that cannot be carried out; nothing was changed.
    case impossible
    /// A process or VM uses a device the plan would disturb.
    case inUse
    /// A step of the apply failed (the lower module's error underneath).
    case stepFailed
    /// The vGPU backend of a PF failed (its error underneath).
    case backend
    /// The recovery of an interrupted apply stopped (the step's error underneath).
    case recoveryStopped
    /// The journal of an interrupted apply is damaged or cannot be written or removed.
    case journal
    /// The guests' VF record is damaged or cannot be written.
    case guestRecord
    /// vgpuctl's passthrough record cannot be read (Passthrough's error underneath).
    case passthroughState
    /// Devices were not ready in time.
    case notReady
}

/// Reconcile's error: a ``ReconcileCode``, the operator's sentence, the exit status, and the
/// failure underneath (Passthrough's, HostKit's or a backend's error) as a value.
public typealias ReconcileError = ModuleError<ReconcileCode>
