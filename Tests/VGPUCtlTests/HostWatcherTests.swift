import DevicePlugin
import Foundation
import HostKit
import TestSupport
import Testing

/// The device plugin's watcher passes a burst of host changes on as one: a reader that has not
/// looked at the host yet is not woken again, and is woken once more after it looked.
@Suite struct HostWatcherTests {
    @Test func aBurstOfChangesWakesTheReaderOnce() async throws {
        let base = TestSupport.tempDir("watcher")
        let root = HostRoot(base + "/host")
        let plugins = base + "/plugins"
        try FileManager.default.createDirectory(atPath: root.path, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: true)
        let pending = PendingChange()
        let stream = try HostWatcher.start(
            root: root, pluginDir: plugins, uevents: false, pending: pending, log: { _ in })
        var events = stream.makeAsyncIterator()
        for i in 0..<20 { HostChanges.notify(root, reason: "burst \(i)") }
        let first = await events.next()
        #expect(first == .hostChanged("vgpuctl change notice"))
        // More notices while the reader has not looked: still one change waiting, no event.
        for i in 0..<5 { HostChanges.notify(root, reason: "more \(i)") }
        #expect(!pending.raise(), "the change flag went down without the reader lowering it")
        // The reader looks at the host: the next notice wakes it again, once.
        pending.lower()
        HostChanges.notify(root, reason: "after the rescan")
        let second = await events.next()
        #expect(second == .hostChanged("vgpuctl change notice"))
        #expect(!pending.raise())
    }
}
