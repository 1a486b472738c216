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

    func load() throws(ReconcileError) -> HostConfig { try HostConfigParser.load(path: file, config: config) }
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
