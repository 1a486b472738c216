import Foundation
import Glibc
import HostKit

/// What wakes the plugin: a change on the host, one of its sockets removed, the kubelet's
/// socket created (a kubelet (re)start).
public enum WatchEvent: Sendable, Equatable {
    case hostChanged(String)
    case socketRemoved(String)
    case kubeletStarted
    /// A watcher stopped (its kernel interface failed): the lists would go stale.
    case watcherFailed(String)
}

/// Coalesces host changes: a change is passed on only when none is waiting, so a burst of
/// uevents (32 VFs appearing) costs the reader one rescan, not one per event. The reader lowers
/// the flag just before it rescans; a change arriving during the rescan raises it again.
public final class PendingChange: @unchecked Sendable {
    private let lock = NSLock()
    private var pending = false

    public init() {}

    /// Raises the flag; true when it was down (the change must be passed on).
    public func raise() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if pending { return false }
        pending = true
        return true
    }

    /// Lowers the flag: the reader is about to look at the host.
    public func lower() {
        lock.lock()
        pending = false
        lock.unlock()
    }
}

/// Turns kernel uevents and inotify events into one stream of ``WatchEvent``s, from two
/// threads that block in the kernel (no polling): inotify on `run/vgpuctl` (vgpuctl's change
/// notice, ``HostChanges``; on a simulated host the simulated kernel writes it too) and on the
/// device-plugin directory; a netlink uevent socket for PCI, mdev and VFIO events.
public enum HostWatcher {
    static let inotifyMask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE)

    /// Starts the threads. `uevents`: listen to the kernel too (a real host). Host changes are
    /// passed on through `pending` (see ``PendingChange``).
    public static func start(
        root: HostRoot, pluginDir: String, uevents: Bool, pending: PendingChange,
        log: @escaping @Sendable (String) -> Void
    ) throws(DevicePluginError) -> AsyncStream<WatchEvent> {
        let (stream, continuation) = AsyncStream<WatchEvent>.makeStream()
        let changes = root.url(HostChanges.directory)
        try? FileManager.default.createDirectory(atPath: changes, withIntermediateDirectories: true)
        let watch = try DevicePluginError.wrapping(.watcher) {
            let watch = try InotifyWatch()
            try watch.add(changes, mask: inotifyMask)
            try watch.add(pluginDir, mask: inotifyMask)
            return watch
        }
        let box = WatchBox(watch)
        let notices = Thread {
            while true {
                let events: [InotifyWatch.Event]
                do { events = try box.watch.next(timeoutMilliseconds: -1) } catch {
                    continuation.yield(.watcherFailed("inotify on \(changes) and \(pluginDir) failed: \(error)"))
                    return
                }
                for e in events {
                    if e.directory == changes && e.name == HostChanges.file && e.mask & UInt32(IN_DELETE) == 0 {
                        if pending.raise() { continuation.yield(.hostChanged("vgpuctl change notice")) }
                    } else if e.directory == pluginDir && e.mask & UInt32(IN_DELETE) != 0 {
                        continuation.yield(.socketRemoved(e.name))
                    } else if e.directory == pluginDir && e.name == "kubelet.sock" && e.mask & UInt32(IN_CREATE) != 0 {
                        continuation.yield(.kubeletStarted)
                    }
                }
            }
        }
        notices.name = "vgpuctl-inotify"
        notices.start()
        if uevents {
            let listener = try DevicePluginError.wrapping(.watcher) { try UeventListener() }
            let ubox = ListenerBox(listener)
            let kernel = Thread {
                while true {
                    do {
                        guard let e = try ubox.listener.next(deadline: .now + .seconds(86400)) else { continue }
                        if ["pci", "mdev", "vfio", "vfio-dev", "egm"].contains(e.subsystem), pending.raise() {
                            continuation.yield(.hostChanged("uevent \(e.action) \(e.subsystem) \(e.devpath)"))
                        }
                    } catch {
                        continuation.yield(.watcherFailed("the kernel uevent listener failed: \(error)"))
                        return
                    }
                }
            }
            kernel.name = "vgpuctl-uevents"
            kernel.start()
        }
        return stream
    }
}

/// Hands a watch to its thread (used by that thread only).
final class WatchBox: @unchecked Sendable {
    let watch: InotifyWatch
    init(_ w: InotifyWatch) { watch = w }
}

/// Hands a uevent listener to its thread (used by that thread only).
final class ListenerBox: @unchecked Sendable {
    let listener: UeventListener
    init(_ l: UeventListener) { listener = l }
}
