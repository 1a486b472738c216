import HostKit

/// HostSim's error codes (``SimHostError``): making a simulated host and running its simulated
/// kernel. What a simulated kernel write fails with is a ``KernelError`` (an errno, as sysfs
/// gives), not one of these.
public enum SimHostCode: String, ErrorCode {
    public static var module: String { "hostsim" }
    /// `sim create`'s directory exists and is not a directory, or is neither empty nor a
    /// simulated host (it is never touched).
    case directory
    /// `sim create`'s directory is already a simulated host and `--force` was not given.
    case alreadySimulated
    /// The host model is unknown or inconsistent (an address, a parent, a driver, an EGM GPU).
    case model
    /// Writing the simulated host's tree failed.
    case create
    /// The simulated kernel's lock (`.vgpuctl-sim.lock`) cannot be taken.
    case kernelLock
    /// The record of an unfinished simulated kernel write cannot be written.
    case pendingWrite
}

/// HostSim's error: a ``SimHostCode``, the operator's sentence, the exit status and the
/// error underneath.
public typealias SimHostError = ModuleError<SimHostCode>
