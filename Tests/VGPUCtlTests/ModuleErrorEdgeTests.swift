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
