import Foundation
import HostKit
import HostSim
import TestSupport
import Testing

/// Helpers for the Hypervisor suites: the CLI on a simulated host, the real tools (QEMU 7.2,
/// virt-xml-validate) installed on first use, and a real QEMU started for a test.
enum HV {
    /// Runs vgpuctl with `--root`.
    static func vg(_ root: HostRoot, _ args: [String], stdin: String? = nil, environment: [String: String?] = [:])
        throws -> TestSupport.Result
    {
        try TestSupport.vgpuctl(["--root", root.path] + args, environment: environment, stdin: stdin)
    }

    /// Installs QEMU, libvirt-clients and libxml2-utils when missing (once per test run);
    /// nil when done, else the script's complaint.
    static let toolsProblem: String? = {
        let script = TestSupport.repositoryDirectory + "/Tests/Scenarios/install-hypervisor-tools.sh"
        guard let r = try? TestSupport.run("/bin/bash", [script]) else { return "cannot run \(script)" }
        return r.status == 0 ? nil : "\(script) failed (exit \(r.status)): \(r.stderr)"
    }()

    /// Fails the test (never skips) when the real tools cannot be installed.
    static func requireTools() throws {
        try #require(toolsProblem == nil, "\(toolsProblem ?? "")")
    }

    static let qemu = "/usr/bin/qemu-system-x86_64"

    /// Makes a fake process under the root's `proc` hold `file` open.
    static func holdOpen(_ root: HostRoot, pid: Int, comm: String, file: String) throws {
        let dir = root.url("proc/\(pid)/fd")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try (comm + "\n").write(toFile: root.url("proc/\(pid)/comm"), atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: dir + "/7", withDestinationPath: file)
    }

    static func driver(_ root: HostRoot, _ a: String) -> String? {
        PCIAddress(a).flatMap { SysfsReader(root: root).device($0) }?.driver
    }

    /// A simulated host with `devices` assigned (passthrough assign through the CLI).
    static func host(_ model: String, assigned devices: [String] = []) throws -> HostRoot {
        let root = try TestSupport.simHost(model)
        for d in devices {
            let r = try vg(root, ["passthrough", "assign", d])
            try #require(r.status == 0, "passthrough assign \(d): \(r.stderr)")
        }
        return root
    }

    /// Makes an mdev `uuid` under PCI device `parent` of a simulated host, as the kernel lists
    /// one: its directory under the parent and the `sys/bus/mdev/devices/<uuid>` link.
    static func makeMdev(_ root: HostRoot, parent: String, uuid: String) throws {
        guard let a = PCIAddress(parent), let dir = SysfsReader(root: root).device(a)?.canonicalPath else {
            throw HostTrees.Failure("no device \(parent) to put an mdev under")
        }
        try FileManager.default.createDirectory(atPath: root.url("\(dir)/\(uuid)"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(
            atPath: root.url("sys/bus/mdev/devices"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: root.url("sys/bus/mdev/devices/\(uuid)"), withDestinationPath: "../../../../\(dir)/\(uuid)")
    }

    /// Non-empty lines.
    static func lines(_ text: String) -> [String] { text.split(separator: "\n").map(String.init) }
}

/// A real QEMU started for one test with a QMP unix socket; stopped when the test ends.
final class RealQEMU {
    let process = Process()
    let socket: String
    let dir: String

    init(_ arguments: [String]) throws {
        dir = TestSupport.tempDir("qmp")
        socket = dir + "/qmp.sock"
        process.executableURL = URL(fileURLWithPath: HV.qemu)
        process.arguments =
            [
                "-S", "-nodefaults", "-display", "none", "-machine", "q35", "-accel", "tcg", "-m", "64",
                "-qmp", "unix:\(socket),server=on,wait=off",
            ] + arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        let deadline = Date().addingTimeInterval(20)
        while !FileManager.default.fileExists(atPath: socket) {
            guard process.isRunning, Date() < deadline else { throw HostTrees.Failure("QEMU did not create \(socket)") }
            usleep(20_000)
        }
    }

    /// Runs QMP commands (a name, or a whole command as JSON) with an independent client
    /// (Python) and returns the replies.
    func query(_ commands: [String]) throws -> [Any] {
        let script = """
            import json, socket, sys
            s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile('rw')
            json.loads(f.readline())
            out = []
            for cmd in ['qmp_capabilities'] + sys.argv[2:]:
                msg = json.loads(cmd) if cmd.startswith('{') else {'execute': cmd}
                f.write(json.dumps(msg) + '\\n'); f.flush()
                while True:
                    m = json.loads(f.readline())
                    if 'return' in m or 'error' in m:
                        break
                out.append(m)
            print(json.dumps(out[1:]))
            """
        let r = try TestSupport.run("/usr/bin/python3", ["-c", script, socket] + commands)
        guard r.status == 0 else { throw HostTrees.Failure("python QMP client failed: \(r.stderr)") }
        return (try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [Any]) ?? []
    }

    /// The ids of the VM's user-created devices (`qom-list /machine/peripheral`).
    func peripheralIDs() throws -> Set<String> {
        let reply =
            try query([#"{"execute": "qom-list", "arguments": {"path": "/machine/peripheral"}}"#]).first
            as? [String: Any]
        return Set(
            (reply?["return"] as? [[String: Any]] ?? []).compactMap { p in
                (p["type"] as? String)?.hasPrefix("child<") == true ? p["name"] as? String : nil
            })
    }

    /// qdev ids `query-pci` lists (bridges walked; behind a bridge only once firmware numbered it).
    func pciIDs() throws -> [String: [String: Any]] {
        var out: [String: [String: Any]] = [:]
        func walk(_ devices: [[String: Any]]) {
            for d in devices {
                if let id = d["qdev_id"] as? String, !id.isEmpty { out[id] = d }
                if let b = d["pci_bridge"] as? [String: Any], let sub = b["devices"] as? [[String: Any]] { walk(sub) }
            }
        }
        let reply = try query(["query-pci"]).first as? [String: Any]
        for bus in reply?["return"] as? [[String: Any]] ?? [] { walk(bus["devices"] as? [[String: Any]] ?? []) }
        return out
    }

    deinit {
        // SIGKILL: a child of the test process may start with SIGTERM blocked (inherited mask).
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: dir)
    }
}
