import DevicePlugin
import Fleet
import Foundation
import HostKit
import SystemPackage
import TestSupport
import Testing

/// Fleet's and the device plugin's errors carry their codes, and a failure from HostKit keeps
/// its system call underneath.
@Suite struct ModuleErrorEdgeTests {
    @Test func aWatchOnAMissingPluginDirectoryKeepsInotifysErrnoAndPath() throws {
        let base = TestSupport.tempDir("watcher-error")
        let root = HostRoot(base + "/host")
        try FileManager.default.createDirectory(atPath: root.path, withIntermediateDirectories: true)
        let missing = base + "/no-plugins"
        let error = #expect(throws: DevicePluginError.self) {
            _ = try HostWatcher.start(
                root: root, pluginDir: missing, uevents: false, pending: PendingChange(), log: { _ in })
        }
        let e = try #require(error)
        #expect(e.code == .watcher)
        #expect(e.codeName == "deviceplugin.watcher")
        #expect((e.underlying as? HostKitError)?.code == .inotify)
        #expect(e.systemCall == SystemCallError("inotify_add_watch", errno: .noSuchFileOrDirectory, path: missing))
        #expect(e.message.contains(missing))
    }
}

/// The CLI edge's own checks and the simulator's errors carry their own codes (`vgpuctl.*`,
/// `hostsim.*`), which `--debug` names; the plain run's message and exit status are unchanged.
@Suite struct EdgeAndSimulatorCodeTests {
    /// The `vgpuctl: debug:` lines of a run.
    static func debugLines(_ r: TestSupport.Result) -> [String] {
        r.stderr.split(separator: "\n").map(String.init).filter { $0.hasPrefix("vgpuctl: debug: ") }
    }

    static func expectSame(
        _ plain: TestSupport.Result, _ debug: TestSupport.Result, code: String, status: Int32,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(plain.status == status && debug.status == status, "\(debug.stderr)", sourceLocation: sourceLocation)
        let message = plain.stderr.dropFirst("vgpuctl: error: ".count).trimmingCharacters(in: .newlines)
        #expect(
            debugLines(debug).first == "vgpuctl: debug: \(code) (exit \(status)): \(message)", "\(debug.stderr)",
            sourceLocation: sourceLocation)
    }

    @Test func aBadOptionValueIsTheCommandsOwnCode() throws {
        let root = try TestSupport.simHost("h100x8")
        let args = ["--root", root.path, "vf", "enable", "0000:18:00.0", "--count", "-1"]
        let plain = try TestSupport.vgpuctl(args)
        let debug = try TestSupport.vgpuctl(args + ["--debug"])
        #expect(plain.stderr == "vgpuctl: error: --count must be 0 or more, not -1\n")
        Self.expectSame(plain, debug, code: "vgpuctl.badOption", status: 2)
    }

    @Test func aMissingDeviceIsTheCommandsOwnCode() throws {
        let root = try TestSupport.simHost("h100x8")
        let args = ["--root", root.path, "list", "--device", "0000:77:00.0"]
        let plain = try TestSupport.vgpuctl(args)
        let debug = try TestSupport.vgpuctl(args + ["--debug"])
        #expect(plain.stderr.hasPrefix("vgpuctl: error: no PCI device 0000:77:00.0 under "), "\(plain.stderr)")
        Self.expectSame(plain, debug, code: "vgpuctl.noDevice", status: 2)
    }

    @Test func simCreateOverADirectoryThatIsNotAHostIsHostSimsCode() throws {
        let dir = TestSupport.tempDir("sim-code")
        try "precious".write(toFile: dir + "/data.txt", atomically: true, encoding: .utf8)
        let args = ["sim", "create", dir, "--model", "h100x8"]
        let plain = try TestSupport.vgpuctl(args)
        let debug = try TestSupport.vgpuctl(args + ["--debug"])
        Self.expectSame(plain, debug, code: "hostsim.directory", status: 2)
        #expect(try String(contentsOfFile: dir + "/data.txt", encoding: .utf8) == "precious")
    }
}
