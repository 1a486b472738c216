import ArgumentParser
import Foundation
import HostKit
import VirtualFunctions

extension VF {
    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create",
            abstract: "Give free VFs of a PF vGPU types and print how to hand each to a VM.",
            discussion: """
                Enables the PF's VFs first when it has none (all of them, as NVIDIA's sriov-manage does; \
                with the nvidia driver probing them for the vendor-sysfs and mdev interfaces), picks the \
                lowest free VFs (or the ones named with --vf), and gives them their types through the \
                host's interface: NVIDIA vendor sysfs, mdev, or the upstream control channel. A mix is \
                several --type/--count pairs. The whole request is checked against vgpuctl's book first: \
                when it does not fit, it is refused with the numbers (exit 1) and nothing changes. On a \
                host without vGPU types, omit --type: the VFs are handed out as they are.
                """)

        @Argument(help: "The PF's PCI address.") var pf: String
        @Option(name: .long, help: "vGPU type; repeat for a mix (see 'vgpuctl profile list PF').") var type: [String] =
            []
        @Option(name: .long, help: "How many VFs of each --type (one per --type; default 1).") var count: [Int] = []
        @Option(name: .customLong("vf"), help: "Use this VF (repeat, one per vGPU); default: the lowest free VFs.")
        var vfs: [String] = []
        @Option(name: .long, help: "Seconds to wait for new VFs to appear.") var timeout: Double = 30
        @OptionGroup var host: HostOptions
        @OptionGroup var lock: LockOptions
        @OptionGroup var output: OutputOptions

        /// Pairs --type and --count.
        static func requests(types: [String], counts: [Int]) throws(CommandError) -> [VFCreator.Request] {
            if let bad = counts.first(where: { $0 < 1 }) {
                throw .invalid(.badOption, "--count must be 1 or more, not \(bad)")
            }
            if types.isEmpty {
                guard counts.count <= 1 else {
                    throw .invalid(.badOption, "several --count without --type; give one --count per --type")
                }
                return [.init(type: nil, count: counts.first ?? 1)]
            }
            if counts.isEmpty { return types.map { .init(type: $0, count: 1) } }
            guard counts.count == types.count else {
                throw .invalid(
                    .badOption,
                    "\(types.count) --type and \(counts.count) --count: give one --count per --type (or none for 1 each)"
                )
            }
            return zip(types, counts).map { .init(type: $0, count: $1) }
        }

        func run() throws {
            let pfAddr = try address(pf, what: "PF address")
            let chosen = try vfs.map { s throws(VGPUError) in try address(s, what: "VF address") }
            let requests = try Self.requests(types: type, counts: count)
            guard timeout > 0, timeout <= 3600 else {
                throw CommandError.invalid(.badOption, "--timeout must be between 0 and 3600 seconds, not \(timeout)")
            }
            var ctx = try HostContext(host)
            ctx.progress = TerminalProgress.forStderr(json: output.json)
            var creator = VFCreator(
                root: ctx.root, kernel: ctx.kernel, waiterFactory: ctx.vfWaiterFactory, channels: ctx.vgpuChannels)
            creator.scrubbers = ctx.scrubbers
            creator.timeout = .milliseconds(Int(timeout * 1000))
            _ = try creator.plan(pf: pfAddr, requests, vfs: chosen.isEmpty ? nil : chosen)  // refusals before the lock
            let out = try ctx.mutate(commandLineText, lock: lock) {
                try creator.create(pf: pfAddr, requests, vfs: chosen.isEmpty ? nil : chosen)
            }
            if output.json {
                try printJSON(out)
                return
            }
            if out.enabledVFs > 0 { print("enabled \(out.enabledVFs) VFs on \(out.pf)") }
            let what = out.created.contains { $0.type != nil } ? "typed" : "picked"
            print(
                "\(what) \(out.created.count) VF\(out.created.count == 1 ? "" : "s") of \(out.pf) (\(out.backend.rawValue)); ready for a VM:"
            )
            print(
                renderTable(
                    ["VF", "ADDRESS", "TYPE", "FB MiB", "FB AT", "CHANNELS", "HAND-OFF"],
                    out.created.map {
                        [
                            String($0.index), $0.vf, $0.type ?? "-", $0.framebufferMiB.map(String.init) ?? "-",
                            $0.framebufferOffsetMiB.map(String.init) ?? "-", $0.channels?.description ?? "-",
                            $0.handoff.text,
                        ]
                    }))
        }
    }
}
