import Foundation
import HostKit

/// What vgpuctl records about a stub it started, in `run/vgpuctl/gsp/<BDF>/state.json`.
public struct GSPStubRecord: Codable, Sendable {
    public var pf: String
    public var pid: Int32
    public var model: String
    public var sharedFile: String
    public var log: String
    public var startedAt: String
    public var booted: Bool
    /// The wire format the stub plays (nil: r570.144, as recorded before r000_00 was served).
    public var firmware: String?
    /// Whether the firmware booted with vGPU (set when the boot completes; nil in records
    /// written before it was kept).
    public var vgpu: Bool?
}

/// A stub's status as `vgpuctl gsp status` shows it.
public struct GSPStubStatus: Codable, Sendable {
    public var pf: String
    public var pid: Int32
    public var model: String
    /// `running`, or how it ended.
    public var process: String
    /// The firmware state in the shared page (`running`, `halted`...).
    public var firmware: String
    public var booted: Bool
    public var sharedFile: String
    public var log: String
    /// Whether the running firmware booted with vGPU: what the stub serves now. Nil before the
    /// boot completed.
    public var vgpu: Bool?
    /// The firmware's vGPU-mode setting (FSP PRC knob 0x29) as it is now, filled by the command
    /// that shows it: a change takes effect at the next boot, so it can differ from ``vgpu``.
    public var vgpuMode: String?
    /// The wire format the stub plays (`r570.144` or `r000_00`).
    public var wireFormat: String?
}

/// The simulated-host side of stage 1: the run directory of one PF's firmware stub, and boot,
/// status and stop around ``VGPUBoot``.
///
/// ```
/// <root>/run/vgpuctl/gsp/<BDF>/gspmem       shared file: GspMem + simulation page
///                              stub.log     the stub's output
///                              stub.json    what the stub received and served (its report)
///                              state.json   pid and model (GSPStubRecord)
///                              boot.json    the last boot's report
/// ```
public struct SimulatedGSP {
    public let root: HostRoot
    public let pf: PCIAddress
    /// Doorbell checks the driver side spins before sleeping (``GSPEndpoint/spin``).
    public var spin = 0

    public init(root: HostRoot, pf: PCIAddress) {
        self.root = root
        self.pf = pf
    }

    public static let directory = HostRoot.runDir + "/gsp"
    public var directory: String { root.url("\(Self.directory)/\(pf)") }
    public var sharedFile: String { directory + "/gspmem" }
    public var logFile: String { directory + "/stub.log" }
    public var stubReport: String { directory + "/stub.json" }
    public var stateFile: String { directory + "/state.json" }
    public var bootFile: String { directory + "/boot.json" }

    /// The record of a started stub, when there is one.
    public var record: GSPStubRecord? {
        FileManager.default.contents(atPath: stateFile).flatMap {
            try? JSONDecoder().decode(GSPStubRecord.self, from: $0)
        }
    }

    /// The recorded stub's status, or nil when none was recorded.
    public func status() -> GSPStubStatus? {
        guard let r = record else { return nil }
        let alive = StubProcess.isStub(r.pid, serving: r.sharedFile)
        var firmware = "unknown"
        if let m = try? SharedMapping.open(path: r.sharedFile) { firmware = ControlPage(m).firmwareState.description }
        return GSPStubStatus(
            pf: r.pf, pid: r.pid, model: r.model,
            process: alive ? "running" : (StubProcess.ending(of: r.pid)?.description ?? "gone"),
            firmware: firmware, booted: r.booted, sharedFile: r.sharedFile, log: r.log,
            vgpu: r.vgpu, wireFormat: r.firmware ?? GSPWireFormat.r570_144.rawValue)
    }

    /// Every recorded stub under `root`.
    public static func all(root: HostRoot) -> [GSPStubStatus] {
        let dir = root.url(directory)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.sorted().compactMap { PCIAddress($0) }.compactMap { SimulatedGSP(root: root, pf: $0).status() }
    }

    /// The start of every boot, whatever the wire format: refused while a stub serves the PF;
    /// the run directory created, the last run's record, boot report, stub report and log
    /// removed; a new shared file created and locked for the driver side (the caller unlocks).
    /// Internal, not public: only the boots of this type (this file and `+GMC`) call it.
    func freshSharedFile() throws(GSPMessagingError) -> SharedMapping {
        if let r = record, StubProcess.isStub(r.pid, serving: r.sharedFile) {
            throw .refused(
                .stubRunning,
                "a gsp-stub (pid \(r.pid)) already serves \(pf); stop it first with 'vgpuctl gsp stop \(pf)'")
        }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .failed(.stateFile, "cannot create \(directory): \(error.localizedDescription)")
        }
        for f in [stateFile, bootFile, stubReport, logFile] { try? FileManager.default.removeItem(atPath: f) }
        let mapping = try SharedMapping.create(path: sharedFile)
        try mapping.lockExclusive(until: .now + .seconds(1))
        return mapping
    }

    /// Boots GSP-RM for the PF against a new stub running `model`: prepares the queues, starts
    /// the stub, completes the boot. On failure the stub is stopped and reaped (no orphan) and
    /// the shared file and log are kept for `vgpuctl gsp decode`.
    public func boot(
        plan: VGPUBootPlan, model: String, launcher: StubLauncher, stubArguments: [String] = [],
        receiveTimeout: Duration
    ) throws(GSPMessagingError) -> VGPUBootReport {
        let mapping = try freshSharedFile()
        defer { mapping.unlock() }

        let client: GSPClient
        do {
            client = try VGPUBoot.prepare(mapping: mapping, plan: plan, receiveTimeout: receiveTimeout, spin: spin)
        } catch {
            throw error.moduleError(context: "queueing the boot commands for \(pf)", sharedFile: sharedFile)
        }
        let args =
            ["--shared", sharedFile, "--model", model, "--pf", pf.description, "--report", stubReport] + stubArguments
        let pid = try launcher.spawn(args, logPath: logFile)
        var rec = GSPStubRecord(
            pf: pf.description, pid: pid, model: model, sharedFile: sharedFile, log: logFile,
            startedAt: ISO8601DateFormatter().string(from: Date()), booted: false)
        try save(rec)

        Self.watch(client, pid: pid, log: logFile)
        let report: VGPUBootReport
        do {
            report = try VGPUBoot.complete(client: client, plan: plan, linkTimeout: receiveTimeout)
        } catch {
            let ending = StubProcess.stop(pid)
            try? FileManager.default.removeItem(atPath: stateFile)
            var context = "booting GSP-RM for \(pf) with vGPU \(plan.vgpu ? "enabled" : "disabled") failed"
            if case .peerGone = error {} else { context += " (gsp-stub pid \(pid) stopped: it \(ending))" }
            throw error.moduleError(context: context, sharedFile: sharedFile)
        }
        rec.booted = true
        rec.vgpu = plan.vgpu
        try save(rec)
        var out = report
        out.stubPid = pid
        if let data = try? Self.encoder.encode(out) { try? data.write(to: URL(fileURLWithPath: bootFile)) }
        return out
    }

    /// Stops the recorded stub and forgets it. Returns its pid and how it ended, or nil when
    /// none was running.
    public func stop(grace: Duration = .seconds(2)) -> (pid: Int32, ending: StubProcess.Ending)? {
        guard let r = record else { return nil }
        defer { try? FileManager.default.removeItem(atPath: stateFile) }
        guard StubProcess.isStub(r.pid, serving: r.sharedFile) else { return nil }
        return (r.pid, StubProcess.stop(r.pid, grace: grace))
    }

    /// The unload path, then the stop: sends `UNLOADING_GUEST_DRIVER` (47) to a booted stub and
    /// waits for it to go (it runs the unloaders and exits), falling back to ``stop(grace:)``.
    /// Returns the pid, how it ended, and what the unload did (nil: no unload was possible,
    /// with the reason in `skipped`).
    public func unloadAndStop(timeout: Duration = .seconds(5)) -> (
        pid: Int32, ending: StubProcess.Ending, unloaded: Bool, skipped: String?
    )? {
        guard let r = record, StubProcess.isStub(r.pid, serving: r.sharedFile) else {
            try? FileManager.default.removeItem(atPath: stateFile)
            return nil
        }
        var skipped: String?
        if r.booted, r.firmware == GSPWireFormat.r000_00.rawValue {
            skipped = unloadGMC(timeout: timeout)
            if skipped == nil, let gone = waitGone(r, timeout: timeout) { return (r.pid, gone, true, nil) }
            if skipped == nil {
                skipped = "GSP-RM acknowledged UNLOADING_GUEST_DRIVER but did not go within \(timeout)"
            }
        } else if r.booted {
            do {
                let client = try connect(receiveTimeout: timeout)
                let reply = try client.call(.unloadingGuestDriver, UnloadingGuestDriver().encoded)
                if reply.rpcResult != NVStatus.ok {
                    skipped = "UNLOADING_GUEST_DRIVER answered \(NVStatus.describe(reply.rpcResult))"
                }
                client.endpoint.mapping.unlock()
            } catch {
                skipped = "UNLOADING_GUEST_DRIVER failed: \(error)"
            }
            if skipped == nil {
                let deadline = ContinuousClock.now + timeout
                while ContinuousClock.now < deadline {
                    if !StubProcess.isStub(r.pid, serving: r.sharedFile) {
                        try? FileManager.default.removeItem(atPath: stateFile)
                        return (r.pid, StubProcess.ending(of: r.pid) ?? .gone, true, nil)
                    }
                    usleep(10_000)
                }
                skipped = "GSP-RM acknowledged UNLOADING_GUEST_DRIVER but did not go within \(timeout)"
            }
        } else {
            skipped = "the stub never finished booting"
        }
        guard let s = stop() else { return nil }
        return (s.pid, s.ending, false, skipped)
    }

    /// Opens a client on the running stub's queues (for RM calls after boot), holding the
    /// driver-side lock until the mapping is released.
    public func connect(receiveTimeout: Duration = .seconds(10)) throws(GSPMessagingError) -> GSPClient {
        guard let r = record, StubProcess.isStub(r.pid, serving: r.sharedFile) else {
            throw .failed(.stubNotRunning, "no gsp-stub is running for \(pf); boot it with 'vgpuctl gsp boot \(pf)'")
        }
        guard r.booted else {
            throw .failed(.stubNotRunning, "the gsp-stub for \(pf) (pid \(r.pid)) did not finish booting")
        }
        if r.firmware == GSPWireFormat.r000_00.rawValue {
            throw .failed(
                .stubNotRunning,
                "the gsp-stub for \(pf) (pid \(r.pid)) plays r000_00 (GMC API); this command speaks r570.144 RPCs to it: stop it ('vgpuctl gsp stop \(pf)') and boot without --firmware r000_00"
            )
        }
        let mapping = try SharedMapping.open(path: r.sharedFile)
        try mapping.lockExclusive(until: .now + receiveTimeout)
        let client = GSPClient(
            endpoint: GSPEndpoint(mapping: mapping, side: .cpu, spin: spin), receiveTimeout: receiveTimeout)
        Self.watch(client, pid: r.pid, log: r.log)
        return client
    }

    /// Makes `client`'s waits end early, with the reason, when the stub process ends or the
    /// firmware halts (after the messages it left, such as its last OS_ERROR_LOG, are read).
    static func watch(_ client: GSPClient, pid: Int32, log: String) {
        let endpoint = client.endpoint
        let page = endpoint.page
        endpoint.peerCheck = { [weak client, weak endpoint] in
            if let e = StubProcess.ending(of: pid) {
                var s = "gsp-stub (pid \(pid)) \(e) (its log: \(log))"
                if let last = client?.lastErrorLog { s += " after OS_ERROR_LOG \"\(last)\"" }
                return s
            }
            if page.firmwareState == .halted && endpoint?.hasPending == false {
                return "GSP-RM halted with \(NVStatus.describe(page.haltCode))"
                    + (client?.lastErrorLog.map { ": \($0)" } ?? "")
            }
            return nil
        }
    }

    func save(_ r: GSPStubRecord) throws(GSPMessagingError) {
        do { try Self.encoder.encode(r).write(to: URL(fileURLWithPath: stateFile), options: .atomic) } catch {
            throw .failed(.stateFile, "cannot write \(stateFile): \(error.localizedDescription)")
        }
    }

    static var encoder: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return e
    }
}
