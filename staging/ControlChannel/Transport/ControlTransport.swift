import GSPMessaging
import SystemPackage

/// How fwctl requests reach the firmware: the real `FWCTL_RPC` ioctl on `/dev/fwctl/fwctlN`
/// (``FwctlIoctlTransport``), or the same bytes over the GSP queues to gsp-stub
/// (``GSPStubTransport``), where vgpuctl plays the kernel's part. Requests and replies are
/// encoded once (``ManagementRequest``, ``ManagementReply``); a transport only carries bytes.
public protocol ControlTransport: AnyObject {
    /// What is talked to, for messages (`/dev/fwctl/fwctl0`, `gsp-stub (pid 42) for 0000:18:00.0`).
    var name: String { get }

    /// `FWCTL_INFO`: the device type and the driver's device data.
    func info() throws(ControlChannelError) -> FwctlDeviceInfo

    /// `FWCTL_RPC`: sends `request` in `scope` with `room` bytes for the reply.
    func rpc(scope: FwctlScope, request: [UInt8], room: Int) throws(ControlChannelError) -> RawReply

    /// Releases what the channel holds (the file, RM objects; an auto-started stub).
    func close()
}

/// A reply as a transport received it.
public struct RawReply: Sendable, Equatable {
    /// The bytes delivered (at most the room given).
    public var bytes: [UInt8]
    /// The reply's full length as reported (fwctl's `out_len` after the call); larger than
    /// `bytes.count` when the reply did not fit.
    public var length: Int

    public init(bytes: [UInt8], length: Int) {
        self.bytes = bytes
        self.length = length
    }
}

/// The checks the kernel makes before a request reaches the firmware (fwctl core, then
/// nova-core's `fw_rpc`), as errnos. The ioctl transport gets them from the kernel; the stub
/// transport, which plays the kernel, applies them itself so both fail alike.
public enum FwctlKernelRules {
    /// nil when the kernel would pass the request on; else the errno it returns.
    public static func check(scope: FwctlScope, request: [UInt8], room: Int, hasRawIO: Bool = true) -> Errno? {
        // fwctl core (fwctl_cmd_rpc): sizes, then scope and capability.
        if request.count > Fwctl.maxRPCLength || room > Fwctl.maxRPCLength { return .messageTooLong }
        if scope.needsRawIO && !hasRawIO { return .notPermitted }
        // nova-core (fw_rpc): header, reserved word, permitted command in this scope.
        if request.count < NovaCoreTable.headerSize { return .invalidArgument }
        if request.le32(4) != 0 { return .invalidArgument }
        if scope != NovaCoreTable.permittedScope || NovaCoreTable.command(request.le32(0)) == nil {
            return .notPermitted
        }
        return nil
    }

}
