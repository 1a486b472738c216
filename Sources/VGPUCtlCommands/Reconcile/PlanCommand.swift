import ArgumentParser
import Foundation
import HostKit
import Reconcile
import VirtualFunctions

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
