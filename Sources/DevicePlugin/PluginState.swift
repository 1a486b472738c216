import Fleet
import Foundation
import Synchronization

/// What the plugin advertises, per resource, and who is watching it.
///
/// The list of a resource is the devices of the latest scan plus every device advertised
/// before that the scan no longer shows, kept as Unhealthy (a VF that lost its type, a GPU that
/// lost its driver or is gone): the kubelet then drops it from what it can allocate instead of
/// keeping a stale capacity.
public final class PluginState: Sendable {
    /// One device as the kubelet sees it.
    public struct Listed: Sendable, Equatable {
        public var id: String
        public var healthy: Bool
        public var numaNode: Int?
        /// Why it is unhealthy (for the log).
        public var reason: String?
    }

    struct Inner {
        var snapshot = FleetSnapshot(devices: [], egm: [], hasIOMMUFD: false)
        var lists: [String: [Listed]] = [:]
        var watchers: [UUID: (resource: String, continuation: AsyncStream<[Listed]>.Continuation)] = [:]
    }

    let inner = Mutex(Inner())

    public init() {}

    public var snapshot: FleetSnapshot { inner.withLock { $0.snapshot } }

    /// Every resource advertised so far, in first-seen order.
    public var resources: [String] { inner.withLock { i in i.lists.keys.sorted() } }

    public func list(_ resource: String) -> [Listed] { inner.withLock { $0.lists[resource] ?? [] } }

    /// Takes a new scan; returns the resources whose list changed (watchers are sent the new list).
    @discardableResult
    public func update(_ snapshot: FleetSnapshot) -> [String] {
        inner.withLock { i in
            i.snapshot = snapshot
            var changed: [String] = []
            for resource in Set(i.lists.keys).union(snapshot.resources).sorted() {
                let now = snapshot.devices(of: resource).map {
                    Listed(id: $0.id, healthy: $0.healthy, numaNode: $0.numaNode, reason: $0.unhealthy)
                }
                let ids = Set(now.map(\.id))
                let gone = (i.lists[resource] ?? []).filter { !ids.contains($0.id) }.map {
                    Listed(
                        id: $0.id, healthy: false, numaNode: $0.numaNode,
                        reason: "no longer on the host as \(resource) (driver, type or device gone)")
                }
                let list = now + gone
                if list != i.lists[resource] {
                    i.lists[resource] = list
                    changed.append(resource)
                    for (_, w) in i.watchers where w.resource == resource { w.continuation.yield(list) }
                }
            }
            return changed
        }
    }

    /// A stream of the resource's list: the current one first, then each change (only the latest
    /// is kept when the reader is slower than the changes).
    public func subscribe(_ resource: String) -> (UUID, AsyncStream<[Listed]>) {
        let (stream, continuation) = AsyncStream<[Listed]>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = UUID()
        inner.withLock { i in
            i.watchers[id] = (resource, continuation)
            continuation.yield(i.lists[resource] ?? [])
        }
        return (id, stream)
    }

    public func unsubscribe(_ id: UUID) {
        let c = inner.withLock { $0.watchers.removeValue(forKey: id)?.continuation }
        c?.finish()
    }

    /// Ends every watcher of `resource` (its server is going away).
    public func finish(_ resource: String) {
        let cs = inner.withLock { i in
            let mine = i.watchers.filter { $0.value.resource == resource }
            for k in mine.keys { i.watchers[k] = nil }
            return mine.values.map(\.continuation)
        }
        for c in cs { c.finish() }
    }
}
