import ControlChannel
import HostKit

/// The commands' own error codes (``CommandError``, module `vgpuctl`): what the CLI edge checks
/// itself before it calls a library (options, the named device, files it reads, the simulated
/// host's own state). A library's failure keeps that library's error and code.
enum CommandCode: String, ErrorCode {
    static var module: String { "vgpuctl" }
    /// An option's value or a combination of options is wrong, or a required one is missing.
    case badOption
    /// The named PCI device does not exist (or disappeared while the command ran).
    case noDevice
    /// The device is of the wrong kind: a VF where a PF is needed, not a VF, not a GPU of the
    /// simulated host, a Grace GPU that cannot be hot-plugged.
    case wrongDevice
    /// A file the command reads is missing, unreadable or malformed.
    case badFile
    /// The config or the applied state names no such guest or config.
    case notInConfig
    /// The applied state is not what the command needs: an apply was interrupted, the applied
    /// state differs from the config, or the selected configuration is not applied.
    case notApplied
    /// A simulation-only command on a real host, or the simulated host's own state is missing,
    /// damaged or unfinished.
    case simulation
    /// Refused: a process holds the device (`--force` overrides).
    case inUse
    /// Changing the host needs privileges this user lacks.
    case privileges
    /// A control-channel (fwctl) command of `vgpuctl control` failed; the
    /// ``ControlChannelError`` is kept underneath.
    case controlChannel
}

/// The commands' error: a ``CommandCode``, the operator's sentence and the exit status.
typealias CommandError = ModuleError<CommandCode>

extension ControlChannelError {
    /// This error as the commands report it: code `vgpuctl.controlChannel`, the channel's
    /// sentence and status, the error itself underneath.
    var commandError: CommandError {
        CommandError(.controlChannel, exitStatus, description, underlying: self)
    }
}

extension CommandError {
    /// Refuses (`vgpuctl.noDevice`, exit 2) when `address` names no PCI device under `root`;
    /// `hint` says where to find the right address.
    static func requireDevice(_ address: PCIAddress, root: HostRoot, hint: String) throws(CommandError) {
        guard SysfsReader(root: root).exists(HostRoot.device(address)) else {
            throw .invalid(.noDevice, "no PCI device \(address) under \(root.url(HostRoot.pciDevices)); \(hint)")
        }
    }
}
