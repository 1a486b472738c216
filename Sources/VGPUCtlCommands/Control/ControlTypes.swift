import ArgumentParser
import ControlChannel
import Foundation
import HostKit

extension Control {
    /// `vgpuctl control types PF [--creatable]`.
    struct Types: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "types",
            abstract:
                "List the vGPU types a GPU's firmware knows (QUERY_SUPPORTED_VGPU_TYPES), or those it would create now (--creatable), with their properties.",
            discussion: """
                The firmware starts knowing no type: vgpuctl teaches it the profile catalog's types \
                (ADD_VGPU_TYPE) the first time it assigns one ('vgpuctl vf create PF --type T'). \
                --creatable asks QUERY_CREATABLE_VGPU_TYPES: the types an assignment to a free VF would take now.
                """)

        @Argument(help: ArgumentHelp("The GPU's physical function.", valueName: "PF"))
        var pf: String

        @Flag(name: .long, help: "Only the types the firmware would create on a free VF now.")
        var creatable = false

        @OptionGroup var scope: ScopeOptions
        @OptionGroup var host: HostOptions
        @OptionGroup var output: OutputOptions

        struct TypeOut: Encodable {
            var id: UInt32
            var name: String
            var framebufferMiB: UInt32
            var nominalMiB: UInt32
            var maxInstances: UInt32
            var placementSize: UInt32
            var placements: [UInt32]
            var channels: UInt32
            var copyEngines: UInt32
            var mig: VGPUTypeRecord.MIG?
        }

        struct Out: Encodable {
            var pf: String
            var list: String
            var transport: String
            var types: [TypeOut]
        }

        func run() throws {
            let env = try host.environment()
            let root = env.root
            let dev = try Control.device(pf, root: root, what: "PCI address of the GPU")
            if let owner = dev.physfn {
                throw CommandError.invalid(.wrongDevice, "\(dev.address) is a VF (of \(owner)); name its PF")
            }
            let s = scope.scope()
            let ch = try ControlChannels.open(env: env, pci: dev.address, scope: s)
            defer { ch.client.close() }
            let c = ch.client
            let records: [VGPUTypeRecord]
            do {
                try c.requireNovaCore()
                let ids = creatable ? try c.queryCreatable() : try c.querySupported()
                records = try ids.map { id throws(ControlChannelError) in try c.queryProperties(id) }
            } catch {
                var e = error.commandError
                e.message = "the control channel of \(dev.address) (\(c.transport.name)): \(e.message)"
                throw e
            }
            let out = Out(
                pf: dev.address.description, list: creatable ? "creatable" : "supported", transport: c.transport.name,
                types: records.map {
                    TypeOut(
                        id: $0.id, name: $0.name, framebufferMiB: $0.framebufferMiB, nominalMiB: $0.nominalMiB,
                        maxInstances: $0.maxInstances, placementSize: $0.placementSize, placements: $0.placements,
                        channels: $0.channels, copyEngines: $0.copyEngines, mig: $0.mig)
                })
            if output.json {
                try printJSON(out)
                return
            }
            if records.isEmpty {
                print(
                    creatable
                        ? "the firmware of \(dev.address) would create no vGPU type now (no free VF, no room, or it knows no types yet)"
                        : "the firmware of \(dev.address) knows no vGPU types yet; vgpuctl teaches them (ADD_VGPU_TYPE) the first time it assigns one ('vgpuctl vf create \(dev.address) --type T')"
                )
                return
            }
            print("\(dev.address): \(out.list) vGPU types (\(c.transport.name))")
            print(
                renderTable(
                    ["ID", "NAME", "FB MiB", "MAX", "UNITS", "CHANNELS", "CE", "BACKING"],
                    out.types.map {
                        [
                            String($0.id), $0.name, String($0.framebufferMiB), String($0.maxInstances),
                            String($0.placementSize),
                            String($0.channels), String($0.copyEngines),
                            $0.mig.map { "MIG \($0.profile)" } ?? "time-sliced",
                        ]
                    }))
        }
    }
}
