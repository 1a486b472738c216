#if os(Linux)
    #if canImport(Glibc)
        import Glibc
    #elseif canImport(Musl)
        import Musl
    #endif
    import CMnl
    import SystemPackage

    /// Where a ``UeventListener`` gets its datagrams from: the kernel's uevent socket
    /// (``NetlinkUeventSocket``) or, in tests, a scripted source that replays recorded bytes.
    public protocol UeventSource: AnyObject {
        /// Returns the next datagram, waiting until `deadline` at most; nil when the deadline passes
        /// first. A deadline in the past still returns a datagram that is already queued.
        func receive(deadline: ContinuousClock.Instant) throws(VGPUError) -> [UInt8]?
    }

    /// A `NETLINK_KOBJECT_UEVENT` socket bound to the kernel's uevent multicast group, opened with
    /// libmnl.
    ///
    /// Wraps `mnl_socket_open2(NETLINK_KOBJECT_UEVENT, SOCK_CLOEXEC | SOCK_NONBLOCK)`,
    /// `mnl_socket_bind(groups: 1, MNL_SOCKET_AUTOPID)`, `mnl_socket_get_fd`, `mnl_socket_recvfrom`
    /// and `mnl_socket_close`, plus `setsockopt(SOL_SOCKET, SO_RCVBUFFORCE / SO_RCVBUF)` for the
    /// receive buffer. The kernel only broadcasts uevents into the initial network namespace, and
    /// only a process with `CAP_NET_ADMIN` can send to group 1, so what arrives here comes from the
    /// kernel.
    ///
    /// The socket sees only events that happen after it was bound: open it *before* triggering the
    /// action (write `sriov_numvfs`, `bind`, ...). The descriptor is closed when the value is released.
    public final class NetlinkUeventSocket: UeventSource {
        /// `struct mnl_socket *`.
        private let socket: OpaquePointer
        private var buffer: [UInt8]

        /// The receive buffer the kernel granted, as `getsockopt(SO_RCVBUF)` reports it (the kernel
        /// doubles the requested size for its bookkeeping).
        public let receiveBufferSize: Int

        /// The receive buffer requested by default: 8 MiB, room for thousands of uevents (a VF's
        /// `add` plus `bind` is about 2-3 KiB of socket memory each), so a burst from enabling 32 or
        /// more VFs is not dropped while the caller is busy.
        public static let defaultReceiveBufferSize = 8 << 20

        /// `mnl_socket_get_fd`: the socket's file descriptor, for callers that poll it themselves.
        public var fileDescriptor: Int32 { mnl_socket_get_fd(socket) }

        /// Opens and binds the socket (`mnl_socket_open2`, `mnl_socket_bind`) and sizes its receive
        /// buffer: `SO_RCVBUFFORCE` (needs `CAP_NET_ADMIN`, ignores `net.core.rmem_max`), falling
        /// back to `SO_RCVBUF` (capped at `net.core.rmem_max`).
        ///
        /// - Parameters:
        ///   - groups: the multicast groups to join; 1 (`VGPUCTL_UEVENT_GROUP_KERNEL`) is the
        ///     kernel's own uevents.
        ///   - receiveBufferSize: the receive buffer to ask for, in bytes.
        public init(
            groups: UInt32 = UInt32(VGPUCTL_UEVENT_GROUP_KERNEL),
            receiveBufferSize: Int = NetlinkUeventSocket.defaultReceiveBufferSize
        ) throws(VGPUError) {
            let flags = Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
            guard let nl = mnl_socket_open2(NETLINK_KOBJECT_UEVENT, flags) else {
                let e = Errno(rawValue: errno)
                throw .failed(
                    .uevent,
                    "cannot open a kernel uevent socket (netlink NETLINK_KOBJECT_UEVENT): \(e); vgpuctl needs it to see devices appear; check that the kernel has CONFIG_NET and netlink support",
                    underlying: SystemCallError("mnl_socket_open2", errno: e))
            }
            if mnl_socket_bind(nl, groups, pid_t(MNL_SOCKET_AUTOPID)) < 0 {
                let e = Errno(rawValue: errno)
                mnl_socket_close(nl)
                throw .failed(
                    .uevent,
                    "cannot join the kernel uevent multicast group \(groups): \(e); run vgpuctl as root in the host's initial network namespace",
                    underlying: SystemCallError("mnl_socket_bind", errno: e))
            }
            let fd = mnl_socket_get_fd(nl)
            var size = Int32(clamping: receiveBufferSize)
            let len = socklen_t(MemoryLayout<Int32>.size)
            if setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, len) < 0 {
                // Without CAP_NET_ADMIN: best effort, capped by net.core.rmem_max.
                _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, len)
            }
            var granted: Int32 = 0
            var grantedLen = len
            if getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &grantedLen) < 0 { granted = 0 }

            self.socket = nl
            self.receiveBufferSize = Int(granted)
            self.buffer = [UInt8](
                repeating: 0,
                count: max(
                    Int(vgpuctl_mnl_socket_buffer_size()),
                    Uevent.maximumMessageSize))
        }

        deinit {
            mnl_socket_close(socket)
        }

        /// Waits for the socket to become readable (`poll` on `mnl_socket_get_fd`) until `deadline`,
        /// then reads one datagram with `mnl_socket_recvfrom`.
        ///
        /// A datagram larger than the buffer (`ENOSPC` from libmnl, never a kernel uevent) is
        /// skipped. `ENOBUFS` means the kernel dropped uevents because the receive buffer was full;
        /// that is reported as an error, since a waiter could otherwise wait for an event that is gone.
        public func receive(deadline: ContinuousClock.Instant) throws(VGPUError) -> [UInt8]? {
            let fd = fileDescriptor
            while true {
                let readable: Bool
                do {
                    readable = try DeadlinePoll.waitReadable(fd: fd, until: deadline)
                } catch {
                    throw .failed(
                        .uevent,
                        "waiting for kernel uevents failed: \(error)",
                        underlying: SystemCallError("poll", errno: error))
                }
                if !readable { return nil }

                let e: Errno
                do throws(SystemCallError) {
                    let n = try systemCall("mnl_socket_recvfrom") {
                        buffer.withUnsafeMutableBytes { raw in mnl_socket_recvfrom(socket, raw.baseAddress, raw.count) }
                    }
                    return Array(buffer[0..<min(n, buffer.count)])
                } catch {
                    e = error.errno  // EINTR was retried by the helper
                }
                switch e {
                case .wouldBlock:
                    continue
                case .noSpace:
                    continue
                case .noBufferSpace:
                    throw .failed(
                        .uevent,
                        "the kernel dropped uevents: the uevent socket's receive buffer (\(receiveBufferSize) bytes) overflowed; events may be missing, so re-read the device state from sysfs and retry",
                        underlying: SystemCallError("mnl_socket_recvfrom", errno: e))
                default:
                    throw .failed(
                        .uevent,
                        "reading a kernel uevent failed: \(e)",
                        underlying: SystemCallError("mnl_socket_recvfrom", errno: e))
                }
            }
        }
    }
#endif
