import ArgumentParser
import Foundation
import HostKit
import Reconcile
import VirtualFunctions

/// `--wait` for commands that change the host.
struct LockOptions: ParsableArguments {
    @Option(
        name: .long, parsing: .unconditional,
        help: ArgumentHelp("Seconds to wait for another vgpuctl that is changing the host.", valueName: "S"))
    var wait: Double = 10

    func duration() throws(CommandError) -> Duration {
        guard wait >= 0, wait <= 86400 else {
            throw .invalid(.badOption, "--wait must be between 0 and 86400 seconds, not \(wait)")
        }
        return .milliseconds(Int(wait * 1000))
    }
}

extension HostContext {
    /// The vGPU backend of a PF, from what the host offers (stage 3; nil for PFs without types).
    var backends: BackendProvider { vgpuBackendProvider }

    var executor: Executor { Executor(root: root, kernel: kernel, backends: backends, vfWaiter: vfWaiterFactory) }
    var planner: Planner { Planner(root: root, backends: backends) }
    var reconciler: Reconciler {
        var r = Reconciler(root: root, planner: planner, executor: executor)
        r.progress = progress
        r.crashAfterStep = env.crashAfterStep
        return r
    }

    /// Checks, before anything changes, that this process may change the host: the PCI control
    /// files and vgpuctl's state directory must be writable.
    func requireMutationPrivileges() throws(CommandError) {
        try CommandError.wrapping(.privileges) { try Privileges.requireWritable(root: root, .driversProbe) }
        for dir in [HostRoot.stateDir, HostRoot.runDir, "run"] {
            let path = root.url(dir)
            if FileManager.default.fileExists(atPath: path) && access(path, W_OK) != 0 {
                throw .failed(
                    .privileges,
                    "\(path) is not writable by this user; changing the host needs root (run vgpuctl as root)")
            }
        }
    }

    /// Runs `body` as a host mutation: privileges checked, the host lock held, an interrupted
    /// apply rolled forward first.
    /// With `abandonInterrupted`, the interrupted apply is dropped instead (what it leaves is
    /// printed on stderr).
    /// `forceRecovery`: complete it even over users of its devices (apply's --force).
    func mutate<T>(
        _ command: String, lock: LockOptions, abandonInterrupted: Bool = false, forceRecovery: Bool = false,
        _ body: () throws -> T
    ) throws -> T {
        try requireMutationPrivileges()
        let held = try HostLock(root: root, command: command, wait: try lock.duration())
        // Watchers (the device plugin) learn that the host is changing, and that it changed.
        HostChanges.notify(root, reason: "start: \(command)")
        defer {
            HostChanges.notify(root, reason: "end: \(command)")
            withExtendedLifetime(held) {}
        }
        if abandonInterrupted {
            if let a = try reconciler.abandon() { printWarning(abandonedText(a)) }
        } else if let r = try reconciler.recover(force: forceRecovery) {
            printWarning(
                "completed \(r.completedSteps.count) steps of an interrupted apply (pid \(r.interruptedPID), '\(r.command)') before running this command"
            )
        }
        return try body()
    }
}

/// What dropping an interrupted apply leaves, for people.
func abandonedText(_ a: Reconciler.Abandoned) -> String {
    var lines = [
        "dropped the apply interrupted in pid \(a.interruptedPID) ('\(a.command)', config \(a.config)): \(a.doneSteps.count) steps were done, \(a.leftSteps.count) are left undone:"
    ]
    // The first step left was in progress: it may have partly happened.
    lines += a.leftSteps.enumerated().map { i, s in
        i == 0 ? "  in progress (may have partly happened): \(s)" : "  not done: \(s)"
    }
    lines += a.hostShows.map { "  host shows: \($0)" }
    lines.append("the next apply plans from the host as it is")
    return lines.joined(separator: "\n")
}

/// This process's command line, for the lock file and the journal.
var commandLineText: String { CommandLine.arguments.joined(separator: " ") }
