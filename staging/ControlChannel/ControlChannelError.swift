import GSPMessaging
import HostKit
import SystemPackage

/// Everything that can go wrong on the control channel, as an enum with payloads;
/// ``exitStatus`` is the status the operator sees; `description` is the sentence.
public enum ControlChannelError: Error, Sendable, CustomStringConvertible {
    /// The kernel has no fwctl device for the PCI device; the text says what is missing.
    case noFwctlDevice(PCIAddress, String)
    /// A fwctl device driven by something other than nova-core.
    case notNovaCore(device: String, FwctlDeviceType)
    /// Opening the fwctl device file failed.
    case open(path: String, Errno)
    /// `FWCTL_INFO` or `FWCTL_RPC` failed (or the stub transport, playing the kernel, refused
    /// as the kernel would).
    case call(FwctlCallFailure)
    /// A reply that does not decode.
    case badReply(command: String, BadReply)
    /// The firmware refused the command with this `NV_STATUS` (stub transport: the reason too).
    case refused(command: String, status: UInt32, detail: String?)
    /// The GSP queues failed or GSP-RM answered with an error `rpc_result` (stub transport).
    case queue(GSPError)
    /// An RM object call returned an RM status other than NV_OK.
    case rm(call: String, status: UInt32)
    /// A request vgpuctl will not send.
    case invalidRequest(String)

    public var description: String {
        switch self {
        case .noFwctlDevice(_, let text):
            text
        case .notNovaCore(let device, let type):
            "\(device) is a fwctl device of type \(type), not nova-core (\(FwctlDeviceType.novaCore)); it does not take the vGPU management commands"
        case .open(let path, let e):
            Self.openSentence(path, e)
        case .call(let f):
            f.description
        case .badReply(let command, let bad):
            "bad reply to \(command): \(bad)"
        case .refused(let command, let status, let detail):
            "the firmware refused \(command) with \(NVStatusText.describe(status))\(NVStatusText.meaning(status).map { ": \($0)" } ?? "")\(detail.map { " (\($0))" } ?? "")"
        case .queue(let e):
            "the GSP message queues failed: \(e)"
        case .rm(let call, let status):
            "\(call) failed with RM status \(NVStatusText.describe(status))"
        case .invalidRequest(let text):
            text
        }
    }

    static func openSentence(_ path: String, _ e: Errno) -> String {
        switch e {
        case .noSuchFileOrDirectory:
            "\(path) does not exist although sysfs lists the fwctl device; udev has not created the node (check 'ls -l /dev/fwctl')"
        case .permissionDenied, .notPermitted:
            "cannot open \(path) (\(e)); fwctl devices are for root: run vgpuctl as root"
        case .noSuchDevice, .noSuchAddressOrDevice:
            "cannot open \(path): the device behind it is gone (\(e)); it was hot-unplugged or its driver unbound"
        default:
            "cannot open \(path): \(e) (errno \(e.rawValue))"
        }
    }

    /// The exit status vgpuctl reports this error with: 2 for an invalid request, 1 otherwise.
    /// Each caller wraps the error in its own module's error and keeps it underneath.
    public var exitStatus: ExitStatus {
        switch self {
        case .invalidRequest: .invalidInput
        default: .failed
        }
    }
}

/// A failed `FWCTL_INFO` / `FWCTL_RPC`: the call, the device file, the errno and what was asked,
/// so that the sentence can name the limit or capability involved.
public struct FwctlCallFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// `FWCTL_INFO` or `FWCTL_RPC`.
    public var call: String
    /// The device file (`/dev/fwctl/fwctl0`) or the stub standing in for it.
    public var device: String
    public var errno: Errno
    /// The management command (FWCTL_RPC), when known.
    public var command: String?
    public var scope: FwctlScope
    public var inLength: Int
    public var outLength: Int

    public init(
        call: String, device: String, errno: Errno, command: String? = nil, scope: FwctlScope = .configuration,
        inLength: Int = 0, outLength: Int = 0
    ) {
        self.call = call
        self.device = device
        self.errno = errno
        self.command = command
        self.scope = scope
        self.inLength = inLength
        self.outLength = outLength
    }

    var what: String { command.map { "\(call) \($0)" } ?? call }

    public var description: String {
        let e = errno
        let head = "\(device) refused \(what) with \(Self.name(e))"
        switch e {
        case .argListTooLong:
            return
                "\(head): the kernel does not understand the tail of the \(call == "FWCTL_INFO" ? Fwctl.infoSize : Fwctl.rpcSize)-byte struct vgpuctl sent (its fwctl is older than the Linux 6.15 UAPI vgpuctl was built for)"
        case .messageTooLong:
            return
                "\(head): the request (\(inLength) bytes) or reply room (\(outLength) bytes) exceeds fwctl's \(Fwctl.maxRPCLength / (1024 * 1024)) MiB limit per RPC (MAX_RPC_LEN)"
        case .notPermitted:
            if scope.needsRawIO {
                return
                    "\(head): the \(scope.kernelName) scope needs CAP_SYS_RAWIO; run vgpuctl as root with that capability, or leave out --debug-scope"
            }
            return
                "\(head): nova-core permits the vGPU management commands only in the \(FwctlScope.configuration.kernelName) scope, not \(scope.kernelName); leave out --debug-scope"
        case .notSupported:
            return
                "\(head): the kernel does not support scope \(scope.rawValue) (\(scope.kernelName)) or a flag vgpuctl set; its fwctl is older or newer than the UAPI vgpuctl knows"
        case .noSuchDevice:
            return
                "\(head): the GPU behind it was hot-unplugged or its driver unbound while vgpuctl had it open (the fwctl file is orphaned); check 'lspci' and try again"
        case .ioError:
            return
                "\(head): the firmware refused the command (nova-core turns every GSP-RM error into EIO and does not pass the reason on; see dmesg)"
        case .invalidArgument:
            return
                "\(head): the kernel rejected the request as malformed (a header shorter than 8 bytes, a non-zero reserved word, or a size below the struct's minimum)"
        case .noMemory:
            return "\(head): the kernel ran out of memory"
        case .badAddress:
            return "\(head): the kernel could not read or write vgpuctl's buffers"
        default:
            if e == .inappropriateIOCTLForDevice {
                return "\(head): the ioctl is unknown to the device's driver; it is not a fwctl device"
            }
            return "\(head) (errno \(e.rawValue))"
        }
    }

    /// `EPERM`, `EMSGSIZE`... for the errnos fwctl documents.
    static func name(_ e: Errno) -> String {
        switch e {
        case .argListTooLong: "E2BIG"
        case .messageTooLong: "EMSGSIZE"
        case .notPermitted: "EPERM"
        case .notSupported: "EOPNOTSUPP"
        case .noSuchDevice: "ENODEV"
        case .ioError: "EIO"
        case .invalidArgument: "EINVAL"
        case .noMemory: "ENOMEM"
        case .badAddress: "EFAULT"
        case .permissionDenied: "EACCES"
        default: e == .inappropriateIOCTLForDevice ? "ENOTTY" : "errno \(e.rawValue) (\(e))"
        }
    }
}
