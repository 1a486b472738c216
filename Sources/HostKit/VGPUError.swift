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

/// HostKit's error codes (``HostKitError``).
public enum HostKitCode: String, ErrorCode {
    public static var module: String { "hostkit" }
    /// `--root` (or `VGPUCTL_ROOT`) is not a host tree.
    case hostRoot
    /// A text is not a PCI address.
    case badAddress
    /// No such PCI device under the root.
    case noSuchDevice
    /// A VF was named where a PF is needed.
    case notAPF
    /// The device has no SR-IOV capability.
    case noSRIOV
    /// A VF count the device cannot take.
    case vfCount
    /// VFs that exist (and may be in use) would be removed.
    case vfsInUse
    /// VFs the kernel should have created are missing.
    case vfsMissing
    /// A control file this user cannot write (not root).
    case notPrivileged
    /// A write to a kernel control file failed (the ``KernelError`` is underneath).
    case kernelWrite
    /// Something uses the device (a process, a mount, an interface).
    case inUse
    /// The host lock cannot be opened or taken.
    case lock
    /// Another vgpuctl holds the host lock.
    case lockHeld
    /// A file cannot be written (atomically) or encoded.
    case fileWrite
    /// libpci failed.
    case libpci
    /// libudev failed, or udev did not finish with a device.
    case udev
    /// The kernel uevent socket failed, or an awaited uevent did not arrive.
    case uevent
    /// inotify failed.
    case inotify
    /// A Grace GPU's EGM retired pages cannot be read (HostKit's `EGMRetiredPagesSource`; the
    /// nvgrace-egm ioctl's errno underneath).
    case egmRetiredPages
}

/// HostKit's error.
public typealias HostKitError = ModuleError<HostKitCode>

/// HostKit's error under the name it had when it served every module (code written before each
/// module had its own error type still throws it).
public typealias VGPUError = HostKitError

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
