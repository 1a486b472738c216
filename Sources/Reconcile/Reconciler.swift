import Foundation
import HostKit
import Passthrough

/// plan -> apply -> assert, under the host lock, with the write-ahead journal.
public struct Reconciler {
    public let root: HostRoot
    public let planner: Planner
    public let executor: Executor
    /// Says which step of an apply or a recovery runs (on a terminal; silent by default).
    public var progress: any ProgressReporter = SilentProgress()

    public init(root: HostRoot, planner: Planner, executor: Executor) {
        self.root = root
        self.planner = planner
        self.executor = executor
    }

    /// Tests: ends the process (status 86) right after step N (1-based) of an apply has run
    /// and before the journal records it, as a crash would. Set by the CLI edge from its
    /// environment (`VGPUCTL_TEST_CRASH_AFTER_STEP`); nil in normal use.
    public var crashAfterStep: Int?

    /// What an apply did.
    public struct Outcome: Sendable, Encodable {
        public var config: String
        public var converged: Bool
        public var actions: [String]
        public var recovered: Recovery?
        /// Rules whose kind-of-device filter matched nothing here (`file:line:column: selector`).
        public var unmatchedRules: [String] = []
    }

    /// What a recovery did.
    public struct Recovery: Sendable, Encodable {
        public var journalID: String
        public var interruptedPID: Int32
        public var command: String
        public var completedSteps: [String]
    }

    /// Rolls an interrupted apply forward, if its journal exists. Call with the lock held.
    /// A step that cannot complete stops recovery with an error naming the step, what the host
    /// shows instead, and the ways out (fix and `recover` again, or `recover --abandon`).
    ///
    /// The remaining steps were checked against the users of their devices when the apply
    /// planned them; a VM or process may have started since. Unless `force`, recovery refuses
    /// (exit 4, before any step) when one now holds a function a remaining step disturbs.
    public func recover(force: Bool = false) throws(ReconcileError) -> Recovery? {
        guard var j = try Journal.load(root) else { return nil }
        if !force {
            let remaining = Array(j.steps[min(j.next, j.steps.count)...])
            let sysfs = SysfsReader(root: root)
            // Only what a step would still change: a step that already took effect is a no-op.
            let onVFIO = { (a: PCIAddress) in
                sysfs.device(a)?.driver.map(PassthroughManager.vfioDrivers.contains) ?? false
            }
            var disturbed: [PCIAddress] = []
            for step in remaining {
                let functions = planner.disturbed([step]) { pf in sysfs.device(pf)?.sriov?.vfs ?? [] }
                switch step {
                case .assignPassthrough: disturbed += functions.filter { !onVFIO($0) }
                case .releasePassthrough, .bindHostDriver: disturbed += functions.filter(onVFIO)
                default: disturbed += functions
                }
            }
            let users = DeviceUsage(sysfs).users(of: disturbed)
            for a in disturbed {
                let doing = "completing the apply interrupted in pid \(j.pid) ('\(j.command)')"
                if let e = DeviceUser.refusal(a.description, users[a] ?? [], doing: doing, forceOverrides: false) {
                    throw .refused(
                        .inUse,
                        e.message
                            + "; stop it and run 'vgpuctl recover' again, or 'vgpuctl recover --force' to take it, or 'vgpuctl recover --abandon' to drop the interrupted apply",
                        underlying: e)
                }
            }
        }
        var done: [String] = []
        while j.next < j.steps.count {
            let step = j.steps[j.next]
            progress.begin("recovering an interrupted apply: step \(j.next + 1)/\(j.steps.count): \(step)")
            defer { progress.end() }
            do { try executor.run(step) } catch {
                throw ReconcileError(
                    .recoveryStopped, error.status == .refused ? .refused : .failed,
                    recoveryStopped(j, step: step, error), underlying: error)
            }
            done.append(step.description)
            j.next += 1
            try j.save(root)
        }
        try saveGuests(j.guests, config: j.configFile)
        try Journal.remove(root)
        return Recovery(journalID: j.id, interruptedPID: j.pid, command: j.command, completedSteps: done)
    }

    /// Applies `config`. Call with the lock held. Refuses (exit 4, before any change) when a
    /// step touches a device a VM, a process or the kernel uses, unless `force`; fails (exit 1,
    /// before any change) when a step cannot be done on this host (`Feasibility`). On a host that matches it writes nothing.
    /// An interrupted apply is completed first (with `force`, also over users of its devices).
    public func apply(_ config: HostConfig, force: Bool, command: String) throws(ReconcileError) -> Outcome {
        let recovered = try recover(force: force)
        let plan = try planner.plan(config, usersOfEveryDevice: false)
        let guestsNow = try GuestAssignments.load(root).vfs
        let wantGuests = plan.guests
        if plan.converged {
            if !wantGuests.isEmpty && wantGuests != guestsNow { try saveGuests(wantGuests, config: config.file) }
            return Outcome(
                config: config.name, converged: true, actions: [], recovered: recovered,
                unmatchedRules: plan.unmatchedRules)
        }
        // What this host cannot do stops the apply before its first write, even with --force.
        if let (dev, step, reason) = plan.firstImpossible {
            throw .failed(.impossible, "\(config.file): cannot \(step) (device \(dev)): \(reason); nothing was changed")
        }
        if !force {
            for d in plan.devices where !d.steps.isEmpty {
                if let e = DeviceUser.refusal(
                    d.device, d.disturbedUsers,
                    doing: "the plan (\(d.steps.count) steps: \(d.steps.map(\.description).joined(separator: "; ")))")
                {
                    throw .refused(
                        .inUse, e.message + " (\(plan.steps.count) steps were not carried out)", underlying: e)
                }
            }
        }
        if !force, let h = plan.touchesVMs.first {
            let dev = plan.devices.first { $0.touchesVMs.contains(h) }?.device ?? "?"
            throw .refused(
                .inUse,
                "the plan would touch \(dev), which pid \(h.pid) (\(h.command)) holds through \(h.file); stop that VM or pass --force (\(plan.steps.count) steps were not carried out)"
            )
        }
        var j = Journal(
            id: UUID().uuidString, pid: getpid(), command: command,
            started: ISO8601DateFormatter().string(from: Date()),
            configFile: config.file, configName: config.name, steps: plan.steps, next: 0, guests: wantGuests)
        try j.save(root)
        let crashAfter = crashAfterStep
        var done: [String] = []
        while j.next < j.steps.count {
            progress.begin("apply '\(config.name)': step \(j.next + 1)/\(j.steps.count): \(j.steps[j.next])")
            defer { progress.end() }
            try executor.run(j.steps[j.next])
            done.append(j.steps[j.next].description)
            if let crashAfter, crashAfter == j.next + 1 { _exit(86) }
            j.next += 1
            try j.save(root)
        }
        try saveGuests(wantGuests, config: config.file)
        try Journal.remove(root)
        return Outcome(
            config: config.name, converged: false, actions: done, recovered: recovered,
            unmatchedRules: plan.unmatchedRules)
    }

    func saveGuests(_ guests: [String: String], config: String) throws(ReconcileError) {
        let now = try GuestAssignments.load(root)
        if now.vfs != guests { try GuestAssignments(vfs: guests).save(root) }
    }
}
