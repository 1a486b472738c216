import Foundation
import SystemPackage

/// The one host-wide lock every command that changes the host takes (`flock(2)` on
/// `run/vgpuctl.lock` under the root), including the libvirt hook.
///
/// The holder writes its pid and command line into the lock file, so a second invocation that
/// gives up can name it. The lock is released when the holder exits, however it exits
/// (the kernel drops `flock` locks with the last descriptor).
public final class HostLock {
    public static let path = "run/vgpuctl.lock"
    let fd: Int32
    public let root: HostRoot

    /// Who holds the lock, as the holder wrote it.
    public struct Holder: Sendable, Equatable, Codable {
        public var pid: Int32
        public var command: String
    }

    /// Takes the lock, waiting up to `wait`. Throws a failed-operation error naming the holder's
    /// pid and command when it is still held then.
    public init(root: HostRoot, command: String, wait: Duration) throws(VGPUError) {
        self.root = root
        let file = root.url(Self.path)
        try? FileManager.default.createDirectory(
            atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let fd: Int32
        do throws(SystemCallError) {
            fd = try systemCall("open", path: file) { open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0o644) }
        } catch {
            throw .failed(
                .lock,
                "cannot open the host lock \(file): \(error.errno)\(error.errno == .permissionDenied ? "; changing the host needs root" : "")",
                error)
        }
        let deadline = ContinuousClock.now + wait
        while true {
            do throws(SystemCallError) {
                _ = try systemCall("flock", path: file) { flock(fd, LOCK_EX | LOCK_NB) }
                break
            } catch let error where error.errno != .wouldBlock {
                close(fd)
                throw .failed(.lock, "cannot lock \(file): \(error.errno)", error)
            } catch {}
            if ContinuousClock.now >= deadline {
                let holder = Self.readHolder(fd)
                close(fd)
                let who = holder.map { "pid \($0.pid) (\($0.command))" } ?? "another process"
                throw .failed(
                    .lockHeld,
                    "another vgpuctl is changing this host: \(who) holds \(file); waited \(Self.seconds(wait)); try again later or pass --wait SECONDS"
                )
            }
            usleep(20_000)
        }
        self.fd = fd
        let me = Holder(pid: getpid(), command: command)
        if let data = try? JSONEncoder().encode(me) {
            ftruncate(fd, 0)
            _ = data.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        }
    }

    deinit {
        ftruncate(fd, 0)
        flock(fd, LOCK_UN)
        close(fd)
    }

    static func readHolder(_ fd: Int32) -> Holder? {
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = pread(fd, &buf, buf.count, 0)
        guard n > 0 else { return nil }
        return try? JSONDecoder().decode(Holder.self, from: Data(buf[0..<n]))
    }

    static func seconds(_ d: Duration) -> String {
        let s = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        return String(format: "%.1f s", s)
    }
}
