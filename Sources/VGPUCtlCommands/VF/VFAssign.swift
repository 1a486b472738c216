import ArgumentParser
import Foundation
import HostKit
import VGPUTypes
import VirtualFunctions

extension VF {
    struct Assign: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "assign",
            abstract: "Give one VF a vGPU type.",
            discussion:
                "The VF's PF must have VFs enabled already (see 'vgpuctl vf create' to enable and type in one go). Refused with the numbers (exit 1) when the GPU cannot hold the type; nothing changes then."
        )

        @Argument(help: "The VF's PCI address.") var vf: String
        @Option(name: .long, help: "vGPU type (see 'vgpuctl profile list PF').") var type: String
        @OptionGroup var host: HostOptions
        @OptionGroup var lock: LockOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let vfAddr = try address(vf, what: "VF address")
            let ctx = try HostContext(host)
            let pf = try ctx.pfOf(vfAddr)
            let backend = try ctx.vgpuBackend(pf)
            guard let typed = backend as? TypedVFBackend else { throw GenericBackend.noTypes(pf: pf, type: type) }
            guard let gpu = ctx.sysfs.device(pf) else { throw CommandError.failed(.noDevice, "\(pf) disappeared") }
            _ = try typed.profiles.type(type, for: gpu)  // bad input before the lock
            let r = try typed.ref(vfAddr)
            try ctx.mutate(commandLineText, lock: lock) { try typed.assign(type: type, vf: vfAddr) }
            let view = try typed.view()
            let entry = view.book.entry(vf: r.index)
            let handoff = try typed.handoff(vfAddr)
            if output.json {
                struct Out: Encodable {
                    var vf: String
                    var pf: String
                    var index: Int
                    var type: String
                    var backend: VGPUBackendKind
                    var entry: GPUBook.Entry?
                    var handoff: Handoff
                }
                try printJSON(
                    Out(
                        vf: vfAddr.description, pf: pf.description, index: r.index, type: type, backend: typed.kind,
                        entry: entry, handoff: handoff))
                return
            }
            let detail =
                entry.map { " (\($0.framebuffer.count) MiB at \($0.framebuffer.offset), channels \($0.channels))" }
                ?? ""
            print("\(vfAddr) (VF \(r.index) of \(pf)) has \(type)\(detail); hand it to a VM: \(handoff.text)")
        }
    }
}
