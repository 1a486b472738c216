import ArgumentParser
import Foundation
import HostKit
import VirtualFunctions

extension VF {
    struct Enable: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "enable",
            abstract: "Enable N VFs on a PF and wait until they exist.",
            discussion:
                "Sets sriov_drivers_autoprobe to 0 (new VFs stay unbound) unless --autoprobe. Changing a nonzero count needs --force."
        )

        @Argument(help: "The PF's PCI address.") var pf: String
        // `.unconditional`: a negative value is the value (and is refused as out of range), not
        // a missing one.
        @Option(name: .long, parsing: .unconditional, help: "Number of VFs.") var count: Int
        @Option(name: .long, parsing: .unconditional, help: "Seconds to wait for the VFs to appear.") var timeout:
            Double = 30
        @Flag(name: .long, help: "Let drivers bind the new VFs (sriov_drivers_autoprobe=1).") var autoprobe = false
        @Flag(name: .long, help: "Change a nonzero VF count (removes the existing VFs).") var force = false
        @OptionGroup var host: HostOptions
        @OptionGroup var lock: LockOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let pfAddr = try address(pf, what: "PF address")
            guard timeout > 0, timeout <= 3600 else {
                throw CommandError.invalid(.badOption, "--timeout must be between 0 and 3600 seconds, not \(timeout)")
            }
            guard count >= 0 else { throw CommandError.invalid(.badOption, "--count must be 0 or more, not \(count)") }
            var ctx = try HostContext(host)
            ctx.progress = TerminalProgress.forStderr(json: output.json)
            let c = VFController(root: ctx.root, kernel: ctx.kernel, waiterFactory: ctx.vfWaiterFactory)
            // A count above TotalVFs is refused before any other check (the kernel's ERANGE sentence).
            if let total = try c.pf(pfAddr).sriov?.totalVFs, count > total {
                throw CommandError.invalid(.badOption, "\(pfAddr) supports at most \(total) VFs")
            }
            let (outcome, _) = try ctx.mutate(commandLineText, lock: lock) {
                try c.enable(
                    pfAddr, count: count, force: force, autoprobe: autoprobe,
                    timeout: .milliseconds(Int(timeout * 1000)))
            }
            let rows = VFRow.rows(pf: pfAddr, ctx.sysfs)
            if output.json {
                struct Out: Encodable {
                    var pf: String
                    var outcome: VFController.Outcome
                    var vfs: [VFRow]
                }
                try printJSON(Out(pf: pfAddr.description, outcome: outcome, vfs: rows))
                return
            }
            switch outcome {
            case .unchanged: print("\(pfAddr) already has \(count) VFs; nothing changed")
            case .enabled: print("enabled \(count) VFs on \(pfAddr)")
            case .changed: print("changed \(pfAddr) to \(count) VFs")
            }
            if !rows.isEmpty { print(VFRow.table(rows)) }
        }
    }
}
