import HostKit

/// Hypervisor's error codes (``HypervisorError``).
public enum HypervisorCode: String, ErrorCode {
    public static var module: String { "hypervisor" }
    /// An option of `qemu args` / `libvirt xml` out of range or malformed.
    case badOption
    /// `--iommufd` needs what this kernel does not provide.
    case iommufd
    /// A named device is malformed, missing, a bridge, or not ready to hand to a guest.
    case badDevice
    /// The device is not assigned to VFIO yet (Passthrough's plan underneath, with `--plan`).
    case notAssigned
    /// The QEMU binary is not one, or lacks a device or object the plan needs.
    case qemuCapability
    /// Running a helper program (QEMU, virsh) failed.
    case process
    /// The libvirt version could not be read.
    case libvirtVersion
    /// The domain XML is malformed or not a domain.
    case domainXML
    /// The hook: a device of the domain belongs to another guest in the host config.
    case otherGuest
    /// The hook: a device of the domain does not exist on this host.
    case noSuchDevice
    /// The hook: a VF carrying a vGPU is named the wrong way in the domain XML.
    case typedVF
    /// A VM or process holds the device.
    case inUse
    /// Assigning a device to VFIO for the guest failed (Passthrough's error underneath).
    case assignFailed
    /// Releasing a device from VFIO failed (Passthrough's error underneath).
    case releaseFailed
    /// vgpuctl's passthrough record cannot be read (Passthrough's error underneath).
    case passthroughState
    /// The hook's record of what it assigned is damaged or cannot be written.
    case hookRecord
    /// The QMP socket cannot be reached, read or written.
    case qmpSocket
    /// The peer does not speak QMP, or broke off.
    case qmpProtocol
    /// QEMU answered a QMP command with an error.
    case qmpRefused
    /// Hot-plugging or unplugging a device failed.
    case hotplug
}

/// Hypervisor's error: a ``HypervisorCode``, the operator's sentence, the exit status, and the
/// failure underneath (Passthrough's or HostKit's error, a ``SystemCallError``) as a value.
public typealias HypervisorError = ModuleError<HypervisorCode>
