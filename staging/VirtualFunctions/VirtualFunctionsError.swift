import HostKit

/// VirtualFunctions' error codes (``VirtualFunctionsError``): stage 3's vGPU types on VFs.
public enum VirtualFunctionsCode: String, ErrorCode {
    public static var module: String { "virtualfunctions" }
    /// The device named is not what the command needs (a VF where a PF is needed, not a VF of
    /// this PF, no SR-IOV capability, no such VF enabled).
    case notAPF
    case notAVF
    case noSRIOV
    case noSuchVF
    /// The PF (or its VF) is gone from sysfs.
    case deviceGone
    /// A vGPU type the GPU's catalog does not have, or a backend without types given one.
    case unknownType
    case noTypes
    /// A request vgpuctl cannot express (a count of 0, a VF named twice, a value beyond its field).
    case badRequest
    /// The GPU cannot hold the request (frame buffer, VF slots, placements, channels; the
    /// book's refusal, with numbers).
    case capacity
    /// The VF already carries a type.
    case vfBusy
    /// The VF is open by a process or bound to a VFIO driver.
    case vfNotFree
    /// Fewer free VFs than asked for, or fewer VFs than planned after enabling them.
    case tooFewVFs
    /// The VF cannot carry a vGPU now (the driver's probe did not create its vGPU files, ...).
    case unusable
    /// The driver's answer disagrees with what was asked (it does not offer the type, or reports
    /// another type after a create or a removal).
    case driverDisagrees
    /// The VF's frame buffer has not been scrubbed since its last vGPU was removed, or the
    /// scrub failed.
    case scrubPending
    case scrubFailed
    /// The firmware's report of the VF's channels, copy engines or BAR1 window disagrees with
    /// the book or the VF's BAR.
    case engineReport
    /// The stage-2 control channel failed or answered something unreadable.
    case controlChannel
    /// A vGPU driver file (sysfs, mdev) cannot be read or written.
    case driverFile
    /// vgpuctl's book of a GPU (`var/lib/vgpuctl/vgpu-book.json`) cannot be read or written.
    case stateFile
    /// A call into HostKit or the vGPU catalogs failed (their error underneath).
    case host
}

/// VirtualFunctions' error: a ``VirtualFunctionsCode``, the operator's sentence, the exit status,
/// and the failure underneath (HostKit's error, the control channel's, a ``SystemCallError``).
public typealias VirtualFunctionsError = ModuleError<VirtualFunctionsCode>
