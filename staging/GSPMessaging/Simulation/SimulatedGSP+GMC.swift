import Foundation
import HostKit

/// The r000_00 side of a simulated host's stub: boot with `gsp-stub --firmware r000_00`,
/// clients on its queues, and its unload path (`UNLOADING_GUEST_DRIVER` as an RM RPC element).
extension SimulatedGSP {
    /// Boots the development firmware's wire format against a new stub (``GMCBoot``). On
    /// failure the stub is stopped and the shared file kept, as ``boot(plan:model:launcher:stubArguments:receiveTimeout:)`` does.
    public func bootGMC(
        plan: VGPUBootPlan, model: String, launcher: StubLauncher, stubArguments: [String] = [],
        receiveTimeout: Duration
    ) throws(GSPMessagingError) -> GMCBootReport {
        let mapping = try freshSharedFile()
        defer { mapping.unlock() }
        let prepared: (GMCClient, UInt64)
        do { prepared = try GMCBoot.prepare(mapping: mapping, plan: plan, receiveTimeout: receiveTimeout) } catch {
            throw error.moduleError(context: "queueing GMCAPI_CMD_GSP_INIT for \(pf)", sharedFile: sharedFile)
        }
        let (client, sequence) = prepared
        let args =
            [
                "--shared", sharedFile, "--model", model, "--pf", pf.description, "--report", stubReport,
                "--firmware", GSPWireFormat.r000_00.rawValue,
            ] + stubArguments
        let pid = try launcher.spawn(args, logPath: logFile)
        var rec = GSPStubRecord(
            pf: pf.description, pid: pid, model: model, sharedFile: sharedFile, log: logFile,
            startedAt: ISO8601DateFormatter().string(from: Date()), booted: false,
            firmware: GSPWireFormat.r000_00.rawValue)
        try save(rec)
        Self.watch(client.endpoint, pid: pid, log: logFile)
        var report: GMCBootReport
        do {
            report = try GMCBoot.complete(client: client, sequence: sequence, plan: plan, linkTimeout: receiveTimeout)
        } catch {
            let ending = StubProcess.stop(pid)
            try? FileManager.default.removeItem(atPath: stateFile)
            var context = "booting GSP-RM (r000_00) for \(pf) with vGPU \(plan.vgpu ? "enabled" : "disabled") failed"
            if case .peerGone = error {} else { context += " (gsp-stub pid \(pid) stopped: it \(ending))" }
            throw error.moduleError(context: context, sharedFile: sharedFile)
        }
        rec.booted = true
        rec.vgpu = plan.vgpu
        try save(rec)
        report.stubPid = pid
        if let data = try? Self.encoder.encode(report) { try? data.write(to: URL(fileURLWithPath: bootFile)) }
        return report
    }

    /// A client on a running r000_00 stub's queues, holding the driver-side lock until the
    /// mapping is released.
    public func connectGMC(receiveTimeout: Duration = .seconds(10)) throws(GSPMessagingError) -> GMCClient {
        guard let r = record, StubProcess.isStub(r.pid, serving: r.sharedFile) else {
            throw .failed(
                .stubNotRunning,
                "no gsp-stub is running for \(pf); boot it with 'vgpuctl gsp boot \(pf) --firmware r000_00'")
        }
        guard r.booted else {
            throw .failed(.stubNotRunning, "the gsp-stub for \(pf) (pid \(r.pid)) did not finish booting")
        }
        guard r.firmware == GSPWireFormat.r000_00.rawValue else {
            throw .failed(
                .stubNotRunning,
                "the gsp-stub for \(pf) (pid \(r.pid)) plays \(r.firmware ?? GSPWireFormat.r570_144.rawValue), not r000_00"
            )
        }
        let mapping = try SharedMapping.open(path: r.sharedFile)
        try mapping.lockExclusive(until: .now + receiveTimeout)
        let endpoint = GMCEndpoint(mapping: mapping, side: .cpu)
        Self.watch(endpoint, pid: r.pid, log: r.log)
        return GMCClient(endpoint: endpoint, receiveTimeout: receiveTimeout)
    }

    /// Sends UNLOADING_GUEST_DRIVER to an r000_00 stub; nil when it answered NV_OK, else why not.
    func unloadGMC(timeout: Duration) -> String? {
        do {
            let client = try connectGMC(receiveTimeout: timeout)
            defer { client.endpoint.mapping.unlock() }
            let reply = try client.callRPC(.unloadingGuestDriver, UnloadingGuestDriver().encoded)
            let result = reply.rpc?.rpcResult ?? NVStatus.errGeneric
            return result == NVStatus.ok ? nil : "UNLOADING_GUEST_DRIVER answered \(NVStatus.describe(result))"
        } catch {
            return "UNLOADING_GUEST_DRIVER failed: \(error)"
        }
    }

    /// Waits until the recorded stub has gone by itself; how it ended, or nil after `timeout`.
    func waitGone(_ r: GSPStubRecord, timeout: Duration) -> StubProcess.Ending? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if !StubProcess.isStub(r.pid, serving: r.sharedFile) {
                try? FileManager.default.removeItem(atPath: stateFile)
                return StubProcess.ending(of: r.pid) ?? .gone
            }
            usleep(10_000)
        }
        return nil
    }

    /// Makes `endpoint`'s waits end early when the stub process ends or the firmware halts.
    static func watch(_ endpoint: GMCEndpoint, pid: Int32, log: String) {
        let page = endpoint.page
        endpoint.peerCheck = { [weak endpoint] in
            if let e = StubProcess.ending(of: pid) { return "gsp-stub (pid \(pid)) \(e) (its log: \(log))" }
            if page.firmwareState == .halted && endpoint?.hasPending == false {
                return "GSP-RM (r000_00) halted with \(NVStatus.describe(page.haltCode))"
            }
            return nil
        }
    }
}
