import ArgumentParser
import Foundation
import HostKit
import Reconcile
import VirtualFunctions

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
            guard w >= 0, w <= 3600 else {
                throw CommandError.invalid(.badOption, "--wait-ready must be between 0 and 3600 seconds")
            }
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
