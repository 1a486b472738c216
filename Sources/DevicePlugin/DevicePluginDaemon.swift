import Fleet
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import HostKit

/// `vgpuctl device-plugin`: one kubelet device plugin (API v1beta1) per resource, each on its
/// own Unix socket in the device-plugin directory, registered with the kubelet.
///
/// The device lists follow the host without polling: every kernel uevent (PCI, mdev, VFIO)
/// and every change notice (``HostChanges``: vgpuctl's mutating commands, the simulated kernel)
/// triggers a rescan; a resource's list is sent again when it changed. A kubelet restart
/// removes every socket in the directory: the plugin notices the removal (inotify), listens
/// again and re-registers, retrying while the kubelet is not listening yet. New resources (a
/// type given after the plugin started) get their server when they appear.
public final class DevicePluginDaemon: Sendable {
    public let root: HostRoot
    public let pluginDir: String
    public let scan: @Sendable () -> FleetSnapshot
    public let state = PluginState()
    let log: @Sendable (String) -> Void
    /// Whether kernel uevents trigger rescans besides vgpuctl's own change notes (a real host;
    /// the CLI edge chooses).
    public let uevents: Bool

    public init(
        root: HostRoot, pluginDir: String, uevents: Bool, scan: @escaping @Sendable () -> FleetSnapshot,
        log: @escaping @Sendable (String) -> Void
    ) {
        self.root = root
        self.uevents = uevents
        self.pluginDir = pluginDir
        self.scan = scan
        self.log = log
    }

    var kubeletSocket: String { pluginDir + "/kubelet.sock" }

    /// A running server of one resource, and its registration.
    struct Running {
        var server: GRPCServer<HTTP2ServerTransport.Posix>
        var serving: Task<Void, Never>
        var registering: Task<Void, Never>
        var socket: String
    }

    /// Runs until `stop` yields (SIGTERM): then stops every server and removes its socket.
    public func run(stop: AsyncStream<Void>) async throws {
        guard FileManager.default.fileExists(atPath: pluginDir) else {
            throw DevicePluginError.invalid(
                .pluginDirectory,
                "the device-plugin directory \(pluginDir) does not exist (is the kubelet's directory mounted? see --plugin-dir)"
            )
        }
        let pending = PendingChange()
        let events = try HostWatcher.start(
            root: root, pluginDir: pluginDir, uevents: uevents, pending: pending, log: log)
        state.update(scan())
        var running: [String: Running] = [:]
        do {
            try await serve(events: events, pending: pending, stop: stop, running: &running)
        } catch {
            // Whatever stops the plugin early, the sockets it made go with it.
            for (r, run) in running { await stopServer(r, run) }
            throw error
        }
        for (r, run) in running { await stopServer(r, run) }
        log("stopped; sockets removed")
    }

    /// Serves until `stop` yields; throws when a server cannot start or a watcher fails (the
    /// lists would go stale: the process exits so its supervisor restarts it).
    func serve(
        events: AsyncStream<WatchEvent>, pending: PendingChange, stop: AsyncStream<Void>,
        running: inout [String: Running]
    ) async throws {
        for r in state.resources { running[r] = try await start(r) }
        log("serving \(running.count) resources: \(running.keys.sorted().joined(separator: ", "))")

        // One loop owns `running`: events and the stop request are merged into one stream.
        enum Input: Sendable {
            case event(WatchEvent)
            case stop
        }
        let (inputs, cont) = AsyncStream<Input>.makeStream()
        let pumpEvents = Task { for await e in events { cont.yield(.event(e)) } }
        let pumpStop = Task {
            for await _ in stop {
                cont.yield(.stop)
                return
            }
        }
        defer {
            pumpEvents.cancel()
            pumpStop.cancel()
        }

        loop: for await input in inputs {
            switch input {
            case .stop:
                break loop
            case .event(.hostChanged(let why)):
                pending.lower()
                let changed = state.update(scan())
                if !changed.isEmpty { log("host changed (\(why)): new lists for \(changed.joined(separator: ", "))") }
                for r in state.resources where running[r] == nil { running[r] = try await start(r) }
            case .event(.socketRemoved(let name)):
                guard let hit = running.first(where: { ($0.value.socket as NSString).lastPathComponent == name }) else {
                    continue
                }
                let (r, run) = (hit.key, hit.value)
                log("\(r): socket \(name) was removed (kubelet restart?); serving again")
                await stopServer(r, run, removeSocket: false)
                running[r] = try await start(r)
            case .event(.watcherFailed(let why)):
                throw DevicePluginError.failed(
                    .watcher,
                    "vgpuctl device-plugin: \(why); stopping so the lists cannot go stale (systemd or the DaemonSet restarts it)"
                )
            case .event(.kubeletStarted):
                log("the kubelet (re)created \(kubeletSocket); registering again")
                for (r, var run) in running {
                    run.registering.cancel()
                    run.registering = registration(r, socket: run.socket)
                    running[r] = run
                }
            }
        }
    }

    func start(_ resource: String) async throws -> Running {
        let socket = pluginDir + "/" + ResourceNames.socketName(resource)
        // A socket left by an earlier run that died (its removal shows up as one extra restart).
        if FileManager.default.fileExists(atPath: socket) { unlink(socket) }
        let transport = HTTP2ServerTransport.Posix(
            address: .unixDomainSocket(path: socket), transportSecurity: .plaintext)
        let service = DevicePluginService(resource: resource, state: state, rescan: scan, log: log)
        let server = GRPCServer(transport: transport, services: [service])
        let log = self.log
        let serving = Task {
            do { try await server.serve() } catch { log("\(resource): server on \(socket) ended: \(error)") }
        }
        do { _ = try await transport.listeningAddress } catch {
            throw DevicePluginError.failed(.listen, "cannot listen on \(socket): \(error)", underlying: error)
        }
        return Running(
            server: server, serving: serving, registering: registration(resource, socket: socket), socket: socket)
    }

    func registration(_ resource: String, socket: String) -> Task<Void, Never> {
        let kubelet = kubeletSocket
        let log = self.log
        let endpoint = (socket as NSString).lastPathComponent
        return Task {
            await Registration.registerRetrying(
                kubeletSocket: kubelet, endpoint: endpoint, resource: resource, log: log)
        }
    }

    /// Stops a resource's server; `removeSocket` when the socket is still ours to remove (not
    /// when the kubelet removed it: a new server may already listen under that name).
    func stopServer(_ resource: String, _ run: Running, removeSocket: Bool = true) async {
        run.registering.cancel()
        state.finish(resource)
        run.server.beginGracefulShutdown()
        await run.serving.value
        if removeSocket { unlink(run.socket) }
    }
}
