import ArgumentParser
import Foundation
import HostKit
import Reconcile
import VirtualFunctions

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
