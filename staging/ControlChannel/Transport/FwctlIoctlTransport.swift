import CControlChannel
import HostKit
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// An open fwctl character device: the seam around `ioctl(2)`, so tests can stand a recording
/// fake in for the kernel.
public protocol FwctlFile: AnyObject {
    /// The device file, for messages.
    var path: String { get }
    /// Issues `request` (`FWCTL_INFO` or `FWCTL_RPC`) with `arg` pointing at its struct; nil on
    /// success, else the errno.
    func ioctl(_ request: UInt32, _ arg: UnsafeMutableRawPointer) -> Errno?
    func close()
}

/// `/dev/fwctl/fwctlN` opened with `open(2)`, its ioctls through `vgpuctl_fwctl_ioctl`.
public final class FwctlDeviceFile: FwctlFile {
    public let path: String
    private var fd: Int32

    /// Opens `path` read-write (fwctl needs it; opening creates the driver's user context).
    public static func open(_ path: String) throws(ControlChannelError) -> FwctlDeviceFile {
        let fd = Glibc.open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw .open(path: path, Errno(rawValue: errno)) }
        return FwctlDeviceFile(path: path, fd: fd)
    }

    init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    deinit { close() }

    /// `ioctl(2)`, made again while it fails with `EINTR` (through HostKit's helper); the errno
    /// of a failure, which the caller keeps with the call and the device (``FwctlCallFailure``).
    public func ioctl(_ request: UInt32, _ arg: UnsafeMutableRawPointer) -> Errno? {
        do throws(SystemCallError) {
            try systemCallReturningErrno("ioctl", path: path) { vgpuctl_fwctl_ioctl(fd, request, arg) }
            return nil
        } catch {
            return error.errno
        }
    }

    /// Closes the file; the kernel frees the firmware resources of this user context.
    public func close() {
        if fd >= 0 { _ = Glibc.close(fd) }
        fd = -1
    }
}

/// The control channel of a real host: `FWCTL_INFO` and `FWCTL_RPC` on the GPU's fwctl device.
public final class FwctlIoctlTransport: ControlTransport {
    public let file: any FwctlFile
    public var name: String { file.path }

    public init(file: any FwctlFile) { self.file = file }

    /// Finds the fwctl device of `pci` under `root` and opens it.
    public static func open(root: HostRoot, pci: PCIAddress) throws(ControlChannelError) -> FwctlIoctlTransport {
        let device = try FwctlLocator.device(for: pci, root: root)
        return FwctlIoctlTransport(file: try FwctlDeviceFile.open(root.url(device.node)))
    }

    /// Device data asked for at first; a driver with more is asked again with its length.
    static let infoRoom = 256
    static let infoMax = 64 * 1024

    public func info() throws(ControlChannelError) -> FwctlDeviceInfo {
        var room = Self.infoRoom
        while true {
            var data = [UInt8](repeating: 0, count: room)
            var req = Fwctl.infoRequest(deviceDataLength: UInt32(room), deviceData: 0)
            let failure: Errno? = data.withUnsafeMutableBytes { buf in
                req.out_device_data = UInt64(UInt(bitPattern: buf.baseAddress))
                return withUnsafeMutableBytes(of: &req) { p -> Errno? in
                    guard let base = p.baseAddress else { return .badAddress }
                    return file.ioctl(Fwctl.info, base)
                }
            }
            if let e = failure { throw .call(FwctlCallFailure(call: "FWCTL_INFO", device: name, errno: e)) }
            let full = Int(req.device_data_len)
            if full > room && full <= Self.infoMax && room == Self.infoRoom {
                room = full
                continue
            }
            return FwctlDeviceInfo(
                deviceType: FwctlDeviceType(rawValue: req.out_device_type),
                deviceData: Array(data.prefix(min(full, room))), deviceDataLength: full)
        }
    }

    public func rpc(scope: FwctlScope, request: [UInt8], room: Int) throws(ControlChannelError) -> RawReply {
        let command = request.count >= 4 ? NovaCoreTable.command(request.le32(0))?.name : nil
        func failure(_ e: Errno) -> ControlChannelError {
            .call(
                FwctlCallFailure(
                    call: "FWCTL_RPC", device: name, errno: e, command: command, scope: scope,
                    inLength: request.count, outLength: room))
        }
        // The kernel would refuse these sizes with EMSGSIZE; say so without asking it.
        if request.count > Fwctl.maxRPCLength || room > Fwctl.maxRPCLength { throw failure(.messageTooLong) }
        var input = request
        var output = [UInt8](repeating: 0, count: room)
        var req = Fwctl.rpcRequest(
            scope: scope, inLength: UInt32(request.count), outLength: UInt32(room), input: 0, output: 0)
        let e: Errno? = input.withUnsafeMutableBytes { i in
            output.withUnsafeMutableBytes { o in
                req.in = UInt64(UInt(bitPattern: i.baseAddress))
                req.out = UInt64(UInt(bitPattern: o.baseAddress))
                return withUnsafeMutableBytes(of: &req) { p -> Errno? in
                    guard let base = p.baseAddress else { return .badAddress }
                    return file.ioctl(Fwctl.rpc, base)
                }
            }
        }
        if let e { throw failure(e) }
        let length = Int(req.out_len)
        return RawReply(bytes: Array(output.prefix(min(length, room))), length: length)
    }

    public func close() { file.close() }
}
