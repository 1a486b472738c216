import HostKit

/// Passthrough's error codes (``PassthroughError``).
public enum PassthroughCode: String, ErrorCode {
    public static var module: String { "passthrough" }
    /// No such PCI device under the root.
    case noSuchDevice
    /// A PCI bridge was named; bridges are not passed through.
    case bridge
    /// The VF carries a vGPU; rebinding it would destroy the vGPU.
    case carriesVGPU
    /// The device has no IOMMU group (the IOMMU is off).
    case noIOMMU
    /// Another device of the IOMMU group is bound to a host driver.
    case groupInUse
    /// Something uses a device whose driver would change (HostKit's refusal underneath).
    case inUse
    /// The device is open through its VFIO group file (a VM holds it).
    case openByVM
    /// The VFIO driver is not loaded.
    case driverNotLoaded
    /// A control file this user cannot write (not root).
    case notPrivileged
    /// The passthrough record (`var/lib/vgpuctl/passthrough.json`) is damaged or cannot be written.
    case stateFile
    /// Binding to the VFIO driver failed (the kernel's error underneath, if it refused a write).
    case bindFailed
    /// The VFIO group file did not appear after binding.
    case noVFIOGroup
    /// Restoring the previous driver failed.
    case restoreFailed
    /// The device was not assigned by vgpuctl.
    case notAssigned
}

/// Passthrough's error: a ``PassthroughCode``, the operator's sentence, the exit status, and the
/// failure underneath (HostKit's error, a ``KernelError``, a ``SystemCallError``) as a value.
public typealias PassthroughError = ModuleError<PassthroughCode>
