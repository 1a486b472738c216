import Foundation
import HostKit
import SystemPackage

/// What one receive produced.
public enum QMPReceived: Sendable, Equatable {
    /// One line, without its CR LF.
    case line(String)
    /// The peer closed the connection.
    case closed
    /// Nothing arrived before the deadline.
    case timedOut
}

/// The byte stream QMP runs over: lines of JSON. A protocol so the client can be tested with a
/// scripted fake (``ScriptedQMPTransport``) as well as a real QEMU's unix socket.
public protocol QMPTransport: AnyObject {
    /// What the transport is connected to, for messages (the socket path).
    var peer: String { get }
    /// Sends one line (a newline is added).
    func send(_ line: String) throws(HypervisorError)
    /// Waits for the next line until `deadline`.
    func receive(until deadline: ContinuousClock.Instant) throws(HypervisorError) -> QMPReceived
    func close()
}

/// A QMP connection over a unix stream socket (`-qmp unix:PATH,server=on,wait=off`).
public final class UnixSocketTransport: QMPTransport {
    public let peer: String
    private var fd: Int32
    private var buffer: [UInt8] = []

    /// Connects to the socket at `path`, retrying a refused connect until `connectDeadline`.
    /// Exit 2 when the path is not a socket; exit 1 when nothing listens there (by the
    /// deadline) or access is denied.
    public init(path: String, connectDeadline: Duration = .seconds(3)) throws(HypervisorError) {
        peer = path
        var st = stat()
        do throws(SystemCallError) { _ = try systemCall("stat", path: path) { stat(path, &st) } } catch {
            if error.errno == .noSuchFileOrDirectory {
                throw .invalid(
                    .qmpSocket,
                    "no socket \(path): pass the QMP socket of a running VM (QEMU's -qmp unix:\(path),server=on,wait=off)",
                    underlying: error)
            }
            throw .failed(.qmpSocket, "cannot reach \(path): \(error.errno)", error)
        }
        guard (st.st_mode & S_IFMT) == S_IFSOCK else {
            throw .invalid(
                .qmpSocket,
                "\(path) is not a socket: pass the QMP socket of a running VM (QEMU's -qmp unix:PATH,server=on,wait=off)"
            )
        }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard bytes.count < capacity else {
            throw .invalid(
                .qmpSocket,
                "the socket path \(path) is longer than the \(capacity - 1) bytes a unix socket address holds; use a shorter path (a symlink)"
            )
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (k, b) in bytes.enumerated() { raw[k] = b }
        }
        // QEMU binds its socket a moment before it listens: a refused connect is retried until
        // `connectDeadline` (a socket nothing will ever listen on is reported after it).
        let deadline = ContinuousClock.now + connectDeadline
        var s: Int32 = -1
        while true {
            do throws(SystemCallError) {
                s = try systemCall("socket", path: path) {
                    socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
                }
            } catch {
                throw .failed(.qmpSocket, "socket(AF_UNIX) failed: \(error.errno)", error)
            }
            let failure: SystemCallError
            do throws(SystemCallError) {
                _ = try systemCall("connect", path: path) {
                    withUnsafePointer(to: &addr) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                            connect(s, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                        }
                    }
                }
                break
            } catch {
                failure = error
            }
            let e = failure.errno.rawValue
            Glibc.close(s)
            if (e == ECONNREFUSED || e == EAGAIN) && ContinuousClock.now < deadline {
                usleep(20_000)
                continue
            }
            switch e {
            case ECONNREFUSED:
                throw .failed(
                    .qmpSocket,
                    "nothing listens on \(path) (connection refused for \(connectDeadline)): the VM is not running or its QMP socket is stale",
                    failure)
            case EACCES, EPERM:
                throw .failed(
                    .qmpSocket, "cannot connect to \(path): permission denied; run as root or as the VM's user", failure
                )
            default:
                throw .failed(.qmpSocket, "cannot connect to \(path): \(failure.errno)", failure)
            }
        }
        fd = s
    }

    deinit { close() }

    public func close() {
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
    }

    public func send(_ line: String) throws(HypervisorError) {
        let data = Array((line + "\n").utf8)
        var off = 0
        while off < data.count {
            let n: Int
            do throws(SystemCallError) {
                n = try systemCall("send", path: peer) {
                    data[off...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                }
            } catch {
                throw .failed(
                    .qmpSocket, "QEMU closed the QMP connection on \(peer) (\(error.errno)); did the VM exit?", error)
            }
            off += n
        }
    }

    public func receive(until deadline: ContinuousClock.Instant) throws(HypervisorError) -> QMPReceived {
        while true {
            if let nl = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                var lineBytes = buffer[..<nl]
                if lineBytes.last == UInt8(ascii: "\r") { lineBytes = lineBytes.dropLast() }
                let line = String(decoding: lineBytes, as: UTF8.self)
                buffer.removeSubrange(...nl)
                return .line(line)
            }
            let left = deadline - ContinuousClock.now
            if left <= .zero { return .timedOut }
            let ms = Int32(
                min(Double(left.components.seconds) * 1000 + Double(left.components.attoseconds) / 1e15 + 1, 60_000))
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let r: Int32
            do throws(SystemCallError) { r = try systemCall("poll", path: peer) { poll(&p, 1, ms) } } catch {
                throw .failed(.qmpSocket, "poll on \(peer) failed: \(error.errno)", error)
            }
            if r == 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n: Int
            do throws(SystemCallError) {
                n = try systemCall("read", path: peer) {
                    chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                }
            } catch {
                if error.errno == .resourceTemporarilyUnavailable { continue }
                throw .failed(.qmpSocket, "reading \(peer) failed: \(error.errno)", error)
            }
            if n == 0 {
                if buffer.isEmpty { return .closed }
                let line = String(decoding: buffer, as: UTF8.self)
                buffer.removeAll()
                return .line(line)
            }
            buffer += chunk[..<n]
            if buffer.count > 64 << 20 {
                throw .failed(.qmpSocket, "\(peer) sent more than 64 MiB without a line break; it is not QMP")
            }
        }
    }
}

/// A transport that plays back scripted lines and records what was sent: the fake for the
/// client's tests. `replies` maps a sent command name to the lines that answer it (in order of
/// use; `{ID}` is replaced by the request's id); `greeting` lines come first.
public final class ScriptedQMPTransport: QMPTransport, @unchecked Sendable {
    public let peer = "scripted"
    public private(set) var sent: [String] = []
    var pending: [String]
    var replies: [String: [[String]]]

    public init(greeting: [String], replies: [String: [[String]]]) {
        pending = greeting
        self.replies = replies
    }

    public func send(_ line: String) throws(HypervisorError) {
        sent.append(line)
        guard let msg = JSONValue.parse(line), let cmd = msg["execute"]?.stringValue else { return }
        let id = msg["id"]?.stringValue ?? ""
        if var queue = replies[cmd], !queue.isEmpty {
            pending += queue.removeFirst().map { $0.replacingOccurrences(of: "{ID}", with: id) }
            replies[cmd] = queue
        }
    }

    public func receive(until deadline: ContinuousClock.Instant) throws(HypervisorError) -> QMPReceived {
        if pending.isEmpty { return .timedOut }
        let l = pending.removeFirst()
        return l == "<EOF>" ? .closed : .line(l)
    }

    public func close() {}
}
