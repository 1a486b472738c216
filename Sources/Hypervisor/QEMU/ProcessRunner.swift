import Foundation
import HostKit
import SystemPackage

/// ``CommandRunner`` with `posix_spawn(3)`: the child gets `/dev/null` as stdin, an empty
/// signal mask and default dispositions (a caller may have signals blocked), and both output
/// pipes are drained together so neither can fill up.
///
/// Not Foundation's `Process`: on Linux it needs a CFSocket wakeup pair over the loopback
/// interface, which a minimal system (the real-kernel test guest, an initramfs) may not have up,
/// and then it hangs.
public struct ProcessRunner: CommandRunner {
    /// How long a child may run before it is killed.
    public var timeout: Duration

    public init(timeout: Duration = .seconds(60)) { self.timeout = timeout }

    public func run(_ executable: String, _ arguments: [String]) throws(HypervisorError) -> (
        status: Int32, stdout: String, stderr: String
    ) {
        var out: [Int32] = [-1, -1]
        var err: [Int32] = [-1, -1]
        do throws(SystemCallError) { _ = try systemCall("pipe") { pipe(&out) } } catch {
            throw .failed(.process, "pipe failed: \(error.errno)", error)
        }
        do throws(SystemCallError) { _ = try systemCall("pipe") { pipe(&err) } } catch {
            close(out[0])
            close(out[1])
            throw .failed(.process, "pipe failed: \(error.errno)", error)
        }
        // Close-on-exec, so other children spawned meanwhile do not hold the pipes open.
        for fd in out + err { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, out[1], 1)
        posix_spawn_file_actions_adddup2(&actions, err[1], 2)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attr, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for sig in [SIGTERM, SIGINT, SIGHUP, SIGPIPE] { sigaddset(&defaults, sig) }
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        var pid = pid_t()
        let rc = posix_spawn(&pid, executable, &actions, &attr, argv, environ)
        for a in argv { free(a) }
        posix_spawn_file_actions_destroy(&actions)
        posix_spawnattr_destroy(&attr)
        close(out[1])
        close(err[1])
        defer {
            close(out[0])
            close(err[0])
        }
        guard rc == 0 else {
            let e = SystemCallError("posix_spawn", errno: Errno(rawValue: rc), path: executable)
            throw .failed(.process, "cannot run \(executable): \(e.errno)", e)
        }

        var buffers: [Int32: [UInt8]] = [out[0]: [], err[0]: []]
        var open = [out[0], err[0]]
        let deadline = ContinuousClock.now + timeout
        var chunk = [UInt8](repeating: 0, count: 65536)
        while !open.isEmpty {
            if ContinuousClock.now >= deadline {
                kill(pid, SIGKILL)
                var st: Int32 = 0
                _ = retryingOnEINTR { waitpid(pid, &st, 0) }
                throw .failed(
                    .process,
                    "\(executable) \(arguments.joined(separator: " ")) did not finish within \(timeout); killed it")
            }
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            do throws(SystemCallError) {
                _ = try systemCall("poll", path: executable) { poll(&fds, nfds_t(fds.count), 200) }
            } catch {
                kill(pid, SIGKILL)
                var st: Int32 = 0
                _ = retryingOnEINTR { waitpid(pid, &st, 0) }
                throw .failed(
                    .process, "waiting for the output of \(executable) failed: \(error.errno); killed it", error)
            }
            for p in fds where p.revents != 0 {
                // End of file, or a read error other than EINTR: that pipe is done.
                let n = retryingOnEINTR { chunk.withUnsafeMutableBytes { read(p.fd, $0.baseAddress, $0.count) } }
                if n > 0 {
                    buffers[p.fd, default: []] += chunk[..<n]
                } else {
                    open.removeAll { $0 == p.fd }
                }
            }
        }
        var status: Int32 = 0
        _ = retryingOnEINTR { waitpid(pid, &status, 0) }
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift cannot import (macros).
        let code = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (
            code, String(decoding: buffers[out[0]] ?? [], as: UTF8.self),
            String(decoding: buffers[err[0]] ?? [], as: UTF8.self)
        )
    }
}
