import HostKit

/// Fleet's error codes (``FleetError``).
public enum FleetCode: String, ErrorCode {
    public static var module: String { "fleet" }
    /// A resource has no device of that id.
    case noSuchDevice
    /// The device is unhealthy and is not allocated.
    case unhealthy
    /// Reading what the host offers (its typed VFs, its mdev types) failed (the error underneath).
    case scan
}

/// Fleet's error: a ``FleetCode``, the operator's sentence, the exit status, and the failure
/// underneath (Reconcile's or HostKit's error) as a value.
public typealias FleetError = ModuleError<FleetCode>
