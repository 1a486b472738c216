import HostKit

/// GSPMessaging's error codes (``GSPMessagingError``): stage 1, booting GSP-RM and its message
/// queues. What goes wrong on the queues themselves is a ``GSPError`` (one case per kind of
/// failure, with payloads), kept underneath the ``GSPMessagingCode/queue`` error it becomes.
public enum GSPMessagingCode: String, ErrorCode {
    public static var module: String { "gsp" }
    /// The PF is not an NVIDIA GPU, or its config space cannot be read whole.
    case notAGPU
    case configSpace
    /// A boot the chip, the PF or the firmware's vGPU mode does not allow (the vGPU gate).
    case vgpuGate
    /// A shared GSP memory file cannot be created, sized, opened or mapped.
    case sharedFile
    /// Another process holds the shared file's lock.
    case locked
    /// A dump that is not a GSP shared file, or whose queues do not decode.
    case badDump
    /// gsp-stub cannot be found or started, or its log cannot be opened.
    case stubLaunch
    /// A gsp-stub already serves the PF (stop it first).
    case stubRunning
    /// No gsp-stub serves the PF, or it did not finish booting.
    case stubNotRunning
    /// The stub's record or run directory cannot be written.
    case stateFile
    /// The message queues failed (the ``GSPError`` underneath).
    case queue
    /// libpci failed (HostKit's error underneath).
    case host
}

/// GSPMessaging's error: a ``GSPMessagingCode``, the operator's sentence, the exit status and the
/// failure underneath (a ``GSPError``, a ``SystemCallError``, HostKit's error).
public typealias GSPMessagingError = ModuleError<GSPMessagingCode>
