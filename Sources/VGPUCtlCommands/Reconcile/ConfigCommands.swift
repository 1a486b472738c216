import ArgumentParser
import Foundation
import HostKit
import Reconcile
import VirtualFunctions

/// `-f FILE [-c NAME]`.
struct ConfigOptions: ParsableArguments {
    @Option(
        name: .shortAndLong,
        help: ArgumentHelp("Host config file (vgpuctl's, or vgpu-device-manager's).", valueName: "FILE"))
    var file: String

    @Option(
        name: [.customShort("c"), .long],
        help: ArgumentHelp("Which config of the file (default: the only one, or 'default').", valueName: "NAME"))
    var config: String?

    func load() throws(VGPUError) -> HostConfig { try HostConfigParser.load(path: file, config: config) }
}

func printPlan(_ plan: Planner.Plan) {
    for r in plan.unmatchedRules { print("rule at \(r) matched no device on this host") }
    if plan.converged {
        print("the host matches config '\(plan.config)' of \(plan.file); nothing to do")
        return
    }
    print("plan for config '\(plan.config)' of \(plan.file): \(plan.steps.count) steps")
    var n = 0
    for d in plan.devices where !d.steps.isEmpty {
        print("\(d.device) (mode \(d.mode), rule at \(d.rule)):")
        for s in d.steps {
            n += 1
            print("  \(n). [\(s.phase)] \(s)")
        }
        for h in d.touchesVMs { print("  ! touches a running VM: pid \(h.pid) (\(h.command)) holds \(h.file)") }
        for u in d.inUseBy { print("  ! in use: \(u)") }
        for (i, s) in d.steps.enumerated() { if let r = d.cannot[i] { print("  ! cannot \(s): \(r)") } }
    }
}

struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan", abstract: "Show what applying a host config would change, in order. Changes nothing.")
    @OptionGroup var config: ConfigOptions
    @OptionGroup var host: HostOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let cfg = try config.load()
        let ctx = try HostContext(host)
        let plan = try ctx.planner.plan(cfg)
        // Read-only: an interrupted apply is reported, never waited on or completed.
        if let a = try ctx.reconciler.interrupted() {
            printWarning(
                "an apply interrupted in pid \(a.interruptedPID) ('\(a.command)') has \(a.leftSteps.count) steps left; the next apply or 'vgpuctl recover' completes them first ('vgpuctl recover --abandon' drops them); this plan is from the host as it is now"
            )
        }
        if output.json { try printJSON(plan) } else { printPlan(plan) }
    }
}

struct ApplyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract:
            "Bring the host to a host config: idempotent, minimal, refuses to touch devices VMs hold (unless --force).")
    @OptionGroup var config: ConfigOptions
    @OptionGroup var host: HostOptions
    @OptionGroup var lock: LockOptions
    @OptionGroup var output: OutputOptions
    @Flag(name: .long, help: "Carry out steps that touch devices a running VM holds.") var force = false
    @Flag(
        name: .long,
        help:
            "Drop an interrupted apply (printing what it leaves) instead of completing it, and plan from the host as it is."
    )
    var abandonInterrupted = false
    @Option(
        name: .long,
        help: ArgumentHelp(
            "At boot: first wait up to S seconds (woken by kernel uevents) until the selected devices exist and have their driver.",
            valueName: "S"))
    var waitReady: Double?

    func run() throws {
        let cfg = try config.load()
        var ctx = try HostContext(host)
        ctx.progress = TerminalProgress.forStderr(json: output.json)
        if let w = waitReady {
            guard w >= 0, w <= 3600 else { throw VGPUError.invalid("--wait-ready must be between 0 and 3600 seconds") }
            try Readiness(root: ctx.root, planner: ctx.planner, uevents: ctx.env.uevents).wait(
                cfg, timeout: .milliseconds(Int(w * 1000)), progress: ctx.progress)
        }
        let outcome = try ctx.mutate(
            commandLineText, lock: lock, abandonInterrupted: abandonInterrupted, forceRecovery: force
        ) {
            try ctx.reconciler.apply(cfg, force: force, command: commandLineText)
        }
        for r in outcome.unmatchedRules { printWarning("rule at \(r) matched no device on this host") }
        if output.json {
            try printJSON(outcome)
            return
        }
        if let r = outcome.recovered {
            print("completed \(r.completedSteps.count) steps of an interrupted apply first (pid \(r.interruptedPID))")
        }
        if outcome.converged {
            print("the host already matches config '\(cfg.name)'; no change made")
        } else {
            print("applied config '\(cfg.name)': \(outcome.actions.count) steps")
            for (i, a) in outcome.actions.enumerated() { print("  \(i + 1). \(a)") }
        }
    }
}

struct AssertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "assert",
        abstract: "Exit 0 when the host matches a host config, 1 with a drift report when it does not.")
    @OptionGroup var config: ConfigOptions
    @OptionGroup var host: HostOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let cfg = try config.load()
        let ctx = try HostContext(host)
        let plan = try ctx.planner.plan(cfg)
        if output.json {
            struct Out: Encodable {
                var matches: Bool
                var drift: [Planner.DevicePlan]
            }
            try printJSON(Out(matches: plan.converged, drift: plan.devices.filter { !$0.steps.isEmpty }))
        } else if plan.converged {
            print("the host matches config '\(cfg.name)'")
        } else {
            print("the host does not match config '\(cfg.name)' of \(cfg.file):")
            for d in plan.devices where !d.steps.isEmpty {
                print("  \(d.device) (rule at \(d.rule)): \(d.steps.map(\.description).joined(separator: "; "))")
                for u in d.inUseBy { print("    in use: \(u)") }
            }
        }
        if !plan.converged { throw ExitCode(ExitStatus.failed.rawValue) }
    }
}

struct RecoverCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recover",
        abstract: "Complete an apply that was interrupted (crash, power loss), or drop it with --abandon.")
    @OptionGroup var host: HostOptions
    @OptionGroup var lock: LockOptions
    @OptionGroup var output: OutputOptions
    @Flag(
        name: .long,
        help:
            "Drop the interrupted apply instead of completing it: print what it leaves undone, change nothing on the host; the next apply plans from the host as it is."
    )
    var abandon = false
    @Flag(
        name: .long,
        help:
            "Complete the interrupted apply even when a VM or process now uses a function its remaining steps would take."
    )
    var force = false

    func run() throws {
        let ctx = try HostContext(host)
        try ctx.requireMutationPrivileges()
        let held = try HostLock(root: ctx.root, command: commandLineText, wait: try lock.duration())
        // Watchers (the device plugin) learn that the host is changing, and that it changed.
        HostChanges.notify(ctx.root, reason: "start: \(commandLineText)")
        defer {
            HostChanges.notify(ctx.root, reason: "end: \(commandLineText)")
            withExtendedLifetime(held) {}
        }
        if abandon {
            let a = try ctx.reconciler.abandon()
            if output.json {
                struct Out: Encodable { var abandoned: Reconciler.Abandoned? }
                try printJSON(Out(abandoned: a))
            } else {
                print(a.map(abandonedText) ?? "nothing to abandon: no interrupted apply")
            }
            return
        }
        let r = try ctx.reconciler.recover(force: force)
        let scrubbed = try ctx.finishScrubs()
        if output.json {
            struct Out: Encodable {
                var recovered: Reconciler.Recovery?
                var scrubbed: [ScrubReport]
            }
            try printJSON(Out(recovered: r, scrubbed: scrubbed))
            return
        }
        for s in scrubbed { print("finished an interrupted frame-buffer scrub: \(s.text)") }
        if let r {
            print(
                "completed \(r.completedSteps.count) remaining steps of the apply interrupted in pid \(r.interruptedPID) ('\(r.command)')"
            )
            for s in r.completedSteps { print("  \(s)") }
        } else if scrubbed.isEmpty {
            print("nothing to recover: no interrupted apply")
        }
    }
}
