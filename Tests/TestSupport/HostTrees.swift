import Foundation
import HostKit

/// Host trees made from real captures, and real processes that use files under a test root.
public enum HostTrees {
    /// The real H200 capture (`shared/data/h200-vm`), read-only.
    public static var h200Capture: String { TestSupport.sharedFile("data/h200-vm") }

    /// A writable copy of the H200 capture in a temporary directory, with its links restored.
    ///
    /// The stored capture holds every symlink of the captured `/sys` (`sys/bus/pci/devices/*`,
    /// `driver`, `subsystem`, `firmware_node`, `drivers/*/<BDF>`, `module`, ...) as a regular
    /// file whose whole content is the link's relative target and no newline (sysfs attributes
    /// always end in one); those are turned back into links, so the tree reads as the live
    /// system did (README: `lspci -A linux-sysfs` reads it). With `nvidiaProc`, the capture's
    /// `proc/driver/nvidia/gpus/0000:00:06.0/information` is put in place.
    public static func h200Copy(nvidiaProc: Bool = true) throws -> HostRoot {
        let fm = FileManager.default
        let src = h200Capture
        guard fm.fileExists(atPath: src + "/sys/bus/pci/devices") else {
            throw Failure("the H200 capture is missing at \(src) (set VGPUCTL_SHARED to the shared folder)")
        }
        let dst = TestSupport.tempDir("h200") + "/host"
        let cp = try TestSupport.run("/bin/cp", ["-a", src, dst])
        guard cp.status == 0 else { throw Failure("cp -a \(src) failed: \(cp.stderr)") }
        _ = try TestSupport.run("/bin/chmod", ["-R", "u+w", dst])
        guard let e = fm.enumerator(atPath: dst + "/sys") else { throw Failure("cannot walk \(dst)/sys") }
        var links: [(String, String)] = []
        while let rel = e.nextObject() as? String {
            let p = dst + "/sys/" + rel
            guard (try? fm.attributesOfItem(atPath: p)[.type] as? FileAttributeType) == .typeRegular,
                let d = fm.contents(atPath: p), d.count < 512, d.first == UInt8(ascii: "."),
                let t = String(data: d, encoding: .utf8), t.hasPrefix("../"), !t.contains("\n")
            else { continue }
            links.append((p, t))
        }
        for (p, t) in links {
            try fm.removeItem(atPath: p)
            try fm.createSymbolicLink(atPath: p, withDestinationPath: t)
        }
        if nvidiaProc {
            let dir = dst + "/proc/driver/nvidia/gpus/0000:00:06.0"
            try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try fm.copyItem(
                atPath: dst + "/proc-driver-nvidia-gpus-0000:00:06.0-information.txt", toPath: dir + "/information")
        }
        return HostRoot(dst)
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(_ d: String) { description = d }
    }

    /// A real process (`sleep`) holding each of `files` open for reading, made visible under the
    /// root as `proc/<pid>` (a link to the real `/proc/<pid>`, so its `fd`, `comm` and `maps`
    /// are the kernel's). `executableName` copies `sleep` under that name first (its `comm`).
    /// Spawned and reaped with posix_spawn/waitpid (Foundation's Process was seen to hang in
    /// waitUntilExit when many tests run in parallel).
    public final class Holder: @unchecked Sendable {
        public let pid: Int
        private var reaped = false

        public init(root: HostRoot, files: [String], executableName: String? = nil) throws {
            var exe = "/bin/sleep"
            if let executableName {
                exe = TestSupport.tempDir("exe") + "/" + executableName
                try FileManager.default.copyItem(atPath: "/bin/sleep", toPath: exe)
            }
            var script = ""
            for (i, f) in files.enumerated() { script += "exec \(i + 3)<'\(f)'; " }
            script += "exec '\(exe)' 600"
            var attr = posix_spawnattr_t()
            posix_spawnattr_init(&attr)
            defer { posix_spawnattr_destroy(&attr) }
            var empty = sigset_t()
            sigemptyset(&empty)
            posix_spawnattr_setsigmask(&attr, &empty)
            posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK))
            let args: [String] = ["/bin/sh", "-c", script]
            let argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
            defer { for a in argv { free(a) } }
            var child: pid_t = 0
            let rc = posix_spawn(&child, "/bin/sh", nil, &attr, argv, environ)
            guard rc == 0 else { throw Failure("posix_spawn /bin/sh failed: errno \(rc)") }
            pid = Int(child)
            // Wait until the shell has become the holder (its fds opened, comm changed).
            let want = String((executableName ?? "sleep").prefix(15))
            var ready = false
            for _ in 0..<1000 where !ready {
                let comm = (try? String(contentsOfFile: "/proc/\(child)/comm", encoding: .utf8))?
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                ready = comm == want
                if !ready { usleep(10_000) }
            }
            guard ready else {
                stop()
                throw Failure("the holder process \(child) did not become '\(want)' with \(files) open within 10 s")
            }
            try FileManager.default.createDirectory(atPath: root.url("proc"), withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(
                atPath: root.url("proc/\(pid)"), withDestinationPath: "/proc/\(pid)")
        }

        /// Ends the process (SIGKILL) and reaps it.
        public func stop() {
            guard !reaped else { return }
            reaped = true
            kill(pid_t(pid), SIGKILL)
            var status: Int32 = 0
            while waitpid(pid_t(pid), &status, 0) < 0 && errno == EINTR {}
        }

        deinit { stop() }
    }
}
