import Foundation
import HostKit
import HostSim

/// Helpers shared by the test targets: temporary directories, running the built `vgpuctl`
/// binary and other programs, and fingerprints of a host tree to prove nothing changed.
public enum TestSupport {
    /// A new empty temporary directory.
    public static func tempDir(_ label: String = "vgpuctl-test") -> String {
        let path = NSTemporaryDirectory() + "\(label)-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A fresh simulated host of `model` in a temporary directory.
    public static func simHost(_ model: String) throws -> HostRoot {
        let dir = tempDir("sim-\(model)") + "/host"
        _ = try SimHostBuilder.create(at: dir, model: model)
        return HostRoot(dir)
    }

    /// The directory holding the built products (`vgpuctl`, the test bundle).
    public static var productsDirectory: String {
        let exe =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return (exe as NSString).deletingLastPathComponent
    }

    /// The package's top directory (found from this source file's path).
    public static var repositoryDirectory: String {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }

    /// The project's shared folder (`shared/` beside the repository, as CI lays it out; or
    /// `VGPUCTL_SHARED`). Tests that read its data files fail loudly when it is missing.
    public static var sharedDirectory: String {
        if let env = ProcessInfo.processInfo.environment["VGPUCTL_SHARED"], !env.isEmpty { return env }
        return (repositoryDirectory as NSString).deletingLastPathComponent + "/shared"
    }

    /// A file under ``sharedDirectory`` (`data/...`).
    public static func sharedFile(_ relative: String) -> String { sharedDirectory + "/" + relative }

    /// Path of the built `vgpuctl` executable.
    public static var vgpuctl: String { productsDirectory + "/vgpuctl" }

    /// The result of running a program.
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// Runs `executable` with `arguments` and waits for it. `environment` entries are added to
    /// (or, with a nil value, removed from) this process's environment.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String?] = [:],
        stdin: String? = nil, timeout: Double? = nil
    ) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["VGPUCTL_ROOT"] = nil
        for (k, v) in environment { env[k] = v }
        p.environment = env
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        if let stdin {
            let inp = Pipe()
            p.standardInput = inp
            try p.run()
            inp.fileHandleForWriting.write(Data(stdin.utf8))
            try inp.fileHandleForWriting.close()
        } else {
            p.standardInput = FileHandle.nullDevice
            try p.run()
        }
        if let timeout {
            // A hang is a finding: kill the child at the deadline (its status then shows SIGKILL).
            let pid = p.processIdentifier
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { if p.isRunning { kill(pid, SIGKILL) } }
        }
        // Read both pipes before waiting so a large output cannot block the child.
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(
            status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
            stderr: String(decoding: e, as: UTF8.self))
    }

    /// Runs the built `vgpuctl`.
    public static func vgpuctl(
        _ arguments: [String], environment: [String: String?] = [:], stdin: String? = nil,
        timeout: Double? = nil
    ) throws -> Result {
        try run(vgpuctl, arguments, environment: environment, stdin: stdin, timeout: timeout)
    }

    /// Finds `name` on PATH (and /usr/sbin, /sbin), or nil.
    public static func which(_ name: String) -> String? {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "") + ":/usr/sbin:/sbin:/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let p = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }

    /// A fingerprint of every file, directory and link under `root` (paths, link targets,
    /// contents), to assert that a command changed nothing.
    public static func fingerprint(_ root: String) -> [String: String] {
        var out: [String: String] = [:]
        let fm = FileManager.default
        guard let e = fm.enumerator(atPath: root) else { return out }
        while let rel = e.nextObject() as? String {
            // vgpuctl's change notice for watchers (HostChanges) is rewritten by every command
            // that takes the host lock, whatever it then does; it is not host state.
            if rel == "run/vgpuctl/changed" { continue }
            let p = root + "/" + rel
            if let t = try? fm.destinationOfSymbolicLink(atPath: p) {
                out[rel] = "link:" + t
                if (try? fm.attributesOfItem(atPath: p)[.type] as? FileAttributeType) == .typeSymbolicLink {
                    e.skipDescendants()
                }
            } else if let d = fm.contents(atPath: p) {
                out[rel] = "file:" + d.base64EncodedString()
            } else {
                out[rel] = "dir"
            }
        }
        return out
    }
}

/// Bytes from annotated hex, for byte-exact tests: every line's text before `//` holds hex byte
/// pairs (spaces allowed anywhere, an `offset:` prefix ignored).
public func annotatedHex(_ text: String) -> [UInt8] {
    var out: [UInt8] = []
    for line in text.split(separator: "\n") {
        var body = String(line.split(separator: "//", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        if let colon = body.firstIndex(of: ":") { body = String(body[body.index(after: colon)...]) }
        let digits = body.filter { $0.isHexDigit }
        precondition(digits.count % 2 == 0, "odd hex digits in: \(line)")
        var i = digits.startIndex
        while i < digits.endIndex {
            let j = digits.index(i, offsetBy: 2)
            out.append(UInt8(digits[i..<j], radix: 16)!)
            i = j
        }
    }
    return out
}
