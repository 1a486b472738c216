import Glibc
import SystemPackage

/// The outcome classes every vgpuctl command maps to an exit status.
///
/// 0 success; 1 the operation failed; 2 invalid input (arguments, files); 4 refused because it
/// would harm something in use (overridable with `--force` where that makes sense).
public enum ExitStatus: Int32, Sendable, Codable {
    case success = 0
    case failed = 1
    case invalidInput = 2
    case refused = 4
}

/// The one error type of HostKit and the layers above it.
///
/// `message` is a sentence for an operator: it names the device or path and says what to do.
/// `underlying` keeps the failure below as a value (a ``SystemCallError`` with the call, errno
/// and path; a ``KernelError``; a parser's error); `cause` is a short note for `--debug`.
public struct VGPUError: Error, CustomStringConvertible, Sendable {
    public var status: ExitStatus
    public var message: String
    public var cause: String?
    /// The error this one explains, as a value.
    public var underlying: (any Error & Sendable)?

    public init(
        _ status: ExitStatus, _ message: String, cause: String? = nil, underlying: (any Error & Sendable)? = nil
    ) {
        self.status = status
        self.message = message
        self.cause = cause ?? underlying.map { "\($0)" }
        self.underlying = underlying
    }

    /// The failed system call underneath, if any (the errno and path kept as values).
    public var systemCall: SystemCallError? { underlying as? SystemCallError }

    /// The operation failed because system call `error` did (exit 1); `message` says what was
    /// being done and what to do, `error` is kept as ``underlying``.
    public static func failed(_ message: String, _ error: SystemCallError) -> VGPUError {
        VGPUError(.failed, message, underlying: error)
    }

    public var description: String { message }

    /// Invalid input: a malformed argument or file (exit 2).
    public static func invalid(_ message: String, cause: String? = nil, underlying: (any Error & Sendable)? = nil)
        -> VGPUError
    {
        VGPUError(.invalidInput, message, cause: cause, underlying: underlying)
    }

    /// The operation failed (exit 1).
    public static func failed(_ message: String, cause: String? = nil, underlying: (any Error & Sendable)? = nil)
        -> VGPUError
    {
        VGPUError(.failed, message, cause: cause, underlying: underlying)
    }

    /// Refused because something is in use (exit 4).
    public static func refused(_ message: String, cause: String? = nil, underlying: (any Error & Sendable)? = nil)
        -> VGPUError
    {
        VGPUError(.refused, message, cause: cause, underlying: underlying)
    }
}

/// A failed write to a kernel control file, as the kernel reported it.
///
/// Carries the syscall's errno, the file and the value written, so the layer above can turn it
/// into a sentence (`ERANGE` on `sriov_numvfs` becomes "... supports at most 4 VFs").
public struct KernelError: Error, CustomStringConvertible, Sendable, Equatable {
    public var errno: Errno
    /// The control file, relative to the host root (`sys/bus/pci/devices/0000:01:00.0/sriov_numvfs`).
    public var path: String
    /// What was written.
    public var value: String

    public init(errno: Errno, path: String, value: String) {
        self.errno = errno
        self.path = path
        self.value = value
    }

    public var description: String {
        "writing '\(value)' to \(path) failed: \(errno) (errno \(errno.rawValue))"
    }
}

extension Errno {
    /// `ENODEV` (swift-system spells it `operationNotSupportedByDevice`): what sysfs `bind`,
    /// `unbind` and `drivers_probe` return for an unknown or non-matching device.
    public static var noSuchDevice: Errno { Errno(rawValue: Glibc.ENODEV) }
}
