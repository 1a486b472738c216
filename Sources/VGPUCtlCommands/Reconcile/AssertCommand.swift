import ArgumentParser
import Foundation
import HostKit
import Reconcile
import VirtualFunctions

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
