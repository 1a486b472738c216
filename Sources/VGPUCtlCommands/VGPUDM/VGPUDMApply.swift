import ArgumentParser
import Foundation
import HostKit
import Reconcile

/// `nvidia-vgpu-dm apply -f FILE -c NAME`: bring the host to the config (no change when it
/// already matches), through vgpuctl's planner, lock and journal.
struct VGPUDMApply: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Apply a vGPU device configuration from a configuration file (no change when the host matches).")

    @OptionGroup var config: VGPUDMConfigOptions
    @OptionGroup var host: HostOptions
    @OptionGroup var lock: LockOptions

    func run() throws {
        let cfg = try config.load()
        let ctx = try HostContext(host)
        let debug = environmentFlag("VGPU_DM_DEBUG")
        let command = "nvidia-vgpu-dm apply -c \(cfg.name)"
        // Planned under the host lock, after an interrupted apply is completed: a plan made
        // outside it could call the host converged while another apply is changing it.
        let outcome = try ctx.mutate(command, lock: lock) {
            try ctx.reconciler.apply(cfg, force: false, command: command)
        }
        if outcome.converged {
            dmInfo("selected vGPU device configuration '\(cfg.name)' is already applied")
            return
        }
        if debug { for a in outcome.actions { dmInfo("done: \(a)") } }
        dmInfo("selected vGPU device configuration '\(cfg.name)' successfully applied (\(outcome.actions.count) steps)")
    }
}

/// `nvidia-vgpu-dm assert [-a] -f FILE -c NAME`: exit 0 when the config is valid (`-a`) or
/// applied, 1 otherwise.
struct VGPUDMAssert: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "assert",
        abstract: "Assert that a vGPU device configuration is applied (or, with --valid-config, only that it is valid)."
    )

    @OptionGroup var config: VGPUDMConfigOptions
    @OptionGroup var host: HostOptions

    @Flag(
        name: [.customShort("a"), .customLong("valid-config")],
        help: "Only check that the file is valid and holds the selected config (or VGPU_DM_VALID_CONFIG).")
    var validConfig = false

    func run() throws {
        let cfg = try config.load()
        if validConfig || environmentFlag("VGPU_DM_VALID_CONFIG") {
            dmInfo("selected vGPU device configuration '\(cfg.name)' is valid")
            return
        }
        let ctx = try HostContext(host)
        let plan = try ctx.planner.plan(cfg)
        guard plan.converged else {
            for d in plan.devices where !d.steps.isEmpty {
                dmInfo("\(d.device) differs: \(d.steps.map(\.description).joined(separator: "; "))")
            }
            throw CommandError.failed(
                .notApplied, "assertion failure: selected configuration '\(cfg.name)' is not currently applied")
        }
        dmInfo("selected vGPU device configuration '\(cfg.name)' is currently applied")
    }
}

/// An informational line on stderr (NVIDIA's tool logs there too; stdout stays empty).
func dmInfo(_ message: String) {
    FileHandle.standardError.write(Data(("nvidia-vgpu-dm: " + message + "\n").utf8))
}
