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
                  let t = String(data: d, encoding: .utf8), t.hasPrefix("../"), !t.contains("\n") else { continue }
            links.append((p, t))
        }
        for (p, t) in links {
            try fm.removeItem(atPath: p)
            try fm.createSymbolicLink(atPath: p, withDestinationPath: t)
        }
        if nvidiaProc {
            let dir = dst + "/proc/driver/nvidia/gpus/0000:00:06.0"
            try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try fm.copyItem(atPath: dst + "/proc-driver-nvidia-gpus-0000:00:06.0-information.txt", toPath: dir + "/information")
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
    public final class Holder: @unchecked Sendable {
        public let process: Process
        public var pid: Int { Int(process.processIdentifier) }

        public init(root: HostRoot, files: [String], executableName: String? = nil) throws {
            var exe = "/bin/sleep"
            if let executableName {
                exe = TestSupport.tempDir("exe") + "/" + executableName
                try FileManager.default.copyItem(atPath: "/bin/sleep", toPath: exe)
            }
            var script = ""
            for (i, f) in files.enumerated() { script += "exec \(i + 3)<'\(f)'; " }
            script += "exec '\(exe)' 600"
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", script]
            try p.run()
            process = p
            // Wait until the shell has become the holder (its fds opened, comm changed).
            let want = String((executableName ?? "sleep").prefix(15))
            for _ in 0..<200 {
                let comm = (try? String(contentsOfFile: "/proc/\(p.processIdentifier)/comm", encoding: .utf8))?
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                if comm == want { break }
                usleep(10_000)
            }
            try FileManager.default.createDirectory(atPath: root.url("proc"), withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: root.url("proc/\(pid)"), withDestinationPath: "/proc/\(pid)")
        }

        /// Ends the process and waits for it.
        public func stop() {
            // SIGKILL: a child spawned from a test thread may inherit a mask blocking SIGTERM.
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }

        deinit { stop() }
    }
}
