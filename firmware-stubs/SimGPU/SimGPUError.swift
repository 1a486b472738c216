import HostKit

/// SimGPU's error codes (``SimGPUError``): the simulated GPUs' own files (the host's state, the
/// frame buffer, the FSP settings, the tree's files). A reply of the simulated firmware fails
/// with ``SimVGPUError`` instead (an errno, as the real driver's ioctl would).
public enum SimGPUCode: String, ErrorCode {
    public static var module: String { "simgpu" }
    /// The root is not a simulated host (no `.vgpuctl-sim.json`).
    case notSimulated
    /// A simulator state file (`.vgpuctl-sim.json`, the FSP settings) is damaged or cannot be
    /// written.
    case stateFile
    /// A simulated frame buffer (`.vgpuctl-sim-fb/<PF>.fb`) cannot be read, written or scrubbed.
    case frameBuffer
    /// A file of the simulated sysfs tree cannot be written.
    case treeWrite
}

/// SimGPU's error: a ``SimGPUCode``, the operator's sentence, the exit status and the failed
/// system call or decoding error underneath.
public typealias SimGPUError = ModuleError<SimGPUCode>
