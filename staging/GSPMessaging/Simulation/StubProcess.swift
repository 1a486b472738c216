import CGSPMessaging
import Foundation
import HostKit
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// Starting, watching and stopping the `gsp-stub` process (`posix_spawn(3)`, `waitpid(2)`,
/// `kill(2)`, `/proc/<pid>/stat`).
public enum StubProcess {
    /// Starts `executable` detached (own session) with `environment`, output appended to
    /// `logPath`.
    public static func spawn(
        _ executable: String, _ arguments: [String], environment: [String: String], logPath: String
    ) throws(GSPMessagingError) -> Int32 {
        let log: Int32
        do throws(SystemCallError) {
            log = try systemCall("open", path: logPath) {
                Glibc.open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            }
        } catch {
            throw .failed(.stubLaunch, "cannot open the stub log \(logPath): \(error.errno)", error)
        }
        defer { close(log) }
        let argv = ([executable] + arguments).map { strdup($0) }
        let envp = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") }
        defer { for p in argv + envp { free(p) } }
        var pid: Int32 = 0
        let r = (argv + [nil]).withUnsafeBufferPointer { a in
            (envp + [nil]).withUnsafeBufferPointer { e in
                vgpuctl_spawn_detached(executable, a.baseAddress, e.baseAddress, log, &pid)
            }
        }
        guard r == 0 else {
            let e = SystemCallError("posix_spawn", errno: Errno(rawValue: r), path: executable)
            throw .failed(
                .stubLaunch, "cannot start \(executable): \(e.errno); set VGPUCTL_GSP_STUB to the gsp-stub binary", e)
        }
        return pid
    }

    /// How a process ended, when it has.
    public enum Ending: Sendable, Equatable, CustomStringConvertible {
        case exited(Int32)
        case signaled(Int32)
        case gone

        public var description: String {
            switch self {
            case .exited(let s): "exited with status \(s)"
            case .signaled(let s): "was killed by signal \(s)"
            case .gone: "is no longer running"
            }
        }
    }

    /// Nil while `pid` runs; how it ended otherwise. Reaps it when it is this process's child
    /// (`waitpid(WNOHANG)`); a zombie of another parent counts as ended.
    public static func ending(of pid: Int32) -> Ending? {
        var status: Int32 = 0
        let r = retryingOnEINTR { waitpid(pid, &status, WNOHANG) }
        if r == pid {
            if status & 0x7f == 0 { return .exited((status >> 8) & 0xff) }
            return .signaled(status & 0x7f)
        }
        if r == 0 { return nil }
        // Not our child (or already reaped): look at /proc.
        if kill(pid, 0) != 0 && errno == ESRCH { return .gone }
        if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        {
            let state = stat[stat.index(close, offsetBy: 2)...].first
            if state == "Z" || state == "X" { return .gone }
        }
        return nil
    }

    /// The command line of `pid`, or nil when it is gone.
    public static func commandLine(of pid: Int32) -> [String]? {
        guard let d = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
        return d.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Whether `pid` is a gsp-stub serving `sharedFile` (guards against a recycled pid).
    public static func isStub(_ pid: Int32, serving sharedFile: String) -> Bool {
        guard let args = commandLine(of: pid), ending(of: pid) == nil else { return false }
        return args.first.map { ($0 as NSString).lastPathComponent == "gsp-stub" } == true && args.contains(sharedFile)
    }

    /// Stops `pid`: SIGTERM, then SIGKILL when it has not ended within `grace`. Reaps it when
    /// it is a child. Returns how it ended.
    @discardableResult
    public static func stop(_ pid: Int32, grace: Duration = .seconds(2)) -> Ending {
        if let e = ending(of: pid) { return e }
        kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + grace
        while ContinuousClock.now < deadline {
            if let e = ending(of: pid) { return e }
            usleep(10_000)
        }
        kill(pid, SIGKILL)
        let hard = ContinuousClock.now + .seconds(2)
        while ContinuousClock.now < hard {
            if let e = ending(of: pid) { return e }
            usleep(10_000)
        }
        return .gone
    }
}
