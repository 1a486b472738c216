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

    /// The environment variable that, in tests, ends the process right after step N (1-based)
    /// of an apply has run and before the journal records it, as a crash would.
    public static let crashSwitch = "VGPUCTL_TEST_CRASH_AFTER_STEP"

    /// What an apply did.
    public struct Outcome: Sendable, Encodable {
        public var config: String
        public var converged: Bool
        public var actions: [String]
        public var recovered: Recovery?
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
    public func recover() throws(VGPUError) -> Recovery? {
        guard var j = try Journal.load(root) else { return nil }
        var done: [String] = []
        while j.next < j.steps.count {
            let step = j.steps[j.next]
            progress.begin("recovering an interrupted apply: step \(j.next + 1)/\(j.steps.count): \(step)")
            defer { progress.end() }
            do { try executor.run(step) } catch {
                throw VGPUError(error.status == .refused ? .refused : .failed, recoveryStopped(j, step: step, error), cause: error.cause)
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
    /// With `abandonInterrupted`, an interrupted apply is dropped instead of completed first.
    public func apply(_ config: HostConfig, force: Bool, command: String, abandonInterrupted: Bool = false) throws(VGPUError) -> Outcome {
        var recovered: Recovery? = nil
        if abandonInterrupted { _ = try abandon() } else { recovered = try recover() }
        let plan = try planner.plan(config)
        let guestsNow = try GuestAssignments.load(root).vfs
        let wantGuests = plan.guests
        if plan.converged {
            if !wantGuests.isEmpty && wantGuests != guestsNow { try saveGuests(wantGuests, config: config.file) }
            return Outcome(config: config.name, converged: true, actions: [], recovered: recovered)
        }
        // What this host cannot do stops the apply before its first write, even with --force.
        if let (dev, step, reason) = plan.firstImpossible {
            throw .failed("\(config.file): cannot \(step) (device \(dev)): \(reason); nothing was changed")
        }
        if !force {
            for d in plan.devices where !d.steps.isEmpty {
                if let e = DeviceUser.refusal(d.device, d.disturbedUsers, doing: "the plan (\(d.steps.count) steps: \(d.steps.map(\.description).joined(separator: "; ")))") {
                    throw .refused(e.message + " (\(plan.steps.count) steps were not carried out)")
                }
            }
        }
        if !force, let h = plan.touchesVMs.first {
            let dev = plan.devices.first { $0.touchesVMs.contains(h) }?.device ?? "?"
            throw .refused("the plan would touch \(dev), which pid \(h.pid) (\(h.command)) holds through \(h.file); stop that VM or pass --force (\(plan.steps.count) steps were not carried out)")
        }
        var j = Journal(id: UUID().uuidString, pid: getpid(), command: command, started: ISO8601DateFormatter().string(from: Date()),
                        configFile: config.file, configName: config.name, steps: plan.steps, next: 0, guests: wantGuests)
        try j.save(root)
        let crashAfter = ProcessInfo.processInfo.environment[Self.crashSwitch].flatMap(Int.init)
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
        return Outcome(config: config.name, converged: false, actions: done, recovered: recovered)
    }

    func saveGuests(_ guests: [String: String], config: String) throws(VGPUError) {
        let now = try GuestAssignments.load(root)
        if now.vfs != guests { try GuestAssignments(vfs: guests).save(root) }
    }
}
