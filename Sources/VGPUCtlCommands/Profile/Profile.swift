import ArgumentParser
import Foundation
import HostKit
import VGPUTypes
import VirtualFunctions

/// `vgpuctl profile`: vGPU types (profiles) and how many more each GPU can take.
struct Profile: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "vGPU profiles: the types a GPU supports and how many more of each it can take now.",
        subcommands: [ListProfiles.self])

    struct ListProfiles: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List the vGPU types of one PF (or of every NVIDIA SR-IOV GPU with a profile catalog).",
            discussion: """
                AVAILABLE is how many more instances of the type the GPU can take now, from vgpuctl's book \
                (frame-buffer placements, channels, copy engines, VF slots, NVIDIA's maximum per GPU). \
                Catalogs: the built-in ones, replaced per device id by files in etc/vgpuctl/profiles/ under \
                the host root.
                """)

        @Argument(help: "A PF's PCI address.") var pf: String?
        @Flag(name: .long, help: "Only the types the GPU can take at least one more of now.") var creatable = false
        @OptionGroup var host: HostOptions
        @OptionGroup var output: OutputOptions

        struct TypeRow: Encodable {
            var name: String
            var id: Int
            var framebufferMiB: Int
            var nominalMiB: Int
            var maxInstances: Int
            var inUse: Int
            var available: Int
            var placementUnits: Int
            var channels: Int
            var copyEngines: Int
            var backing: String
            /// Why the next one would be refused (nil when it fits).
            var refusal: String?
        }

        struct GPURow: Encodable {
            var pf: String
            var gpu: String
            var catalog: String
            var catalogFile: String
            var backend: VGPUBackendKind
            var usage: GPUBook.Usage
            var types: [TypeRow]
            /// The firmware's vGPU mode (FSP PRC knob 0x29): `enabled`, `disabled`, or `unknown`
            /// on a real host (gpu-admin-tools `--query-vgpu-mode` reads it).
            var vgpuMode: String = "unknown"
        }

        func run() throws {
            let only = try pf.map { s throws(VGPUError) in try address(s, what: "PF address") }
            let ctx = try HostContext(host)
            let profiles = try VGPUProfiles.load(root: ctx.root, builtIn: ctx.env.vgpuCatalogs)
            var gpus: [(PCIDevice, VGPUCatalog)] = []
            if let only {
                guard let d = ctx.sysfs.device(only) else {
                    throw CommandError.invalid(
                        .noDevice,
                        "no PCI device \(only) under \(ctx.root.url(HostRoot.pciDevices)); run 'vgpuctl list --all' to see the addresses"
                    )
                }
                if let owner = d.physfn {
                    throw CommandError.invalid(.wrongDevice, "\(only) is a VF (of \(owner)); name its PF")
                }
                gpus = [(d, try profiles.requireCatalog(for: d))]
            } else {
                gpus = ctx.sysfs.allDevices().filter { $0.sriov != nil }.compactMap { d in
                    profiles.catalog(for: d).map { (d, $0) }
                }
            }
            var rows: [GPURow] = []
            for (d, catalog) in gpus { rows.append(try row(d, catalog, ctx: ctx)) }
            if output.json {
                struct Out: Encodable { var gpus: [GPURow] }
                try printJSON(Out(gpus: rows))
                return
            }
            if rows.isEmpty {
                print("no NVIDIA SR-IOV GPU on this host has a vGPU profile catalog")
                return
            }
            print(rows.map(text).joined(separator: "\n\n"))
        }

        func row(_ d: PCIDevice, _ catalog: VGPUCatalog, ctx: HostContext) throws -> GPURow {
            let kind = d.sriov == nil ? .generic : try VGPUBackends.interfaceKind(root: ctx.root, pf: d.address)
            var book = GPUBook(
                catalog: catalog, vfSlots: d.sriov.map { $0.numVFs > 0 ? $0.vfs.count : $0.totalVFs } ?? 0)
            if kind != .generic, let typed = try ctx.vgpuBackend(d.address) as? TypedVFBackend {
                book = try typed.view().book
            }
            var types: [TypeRow] = []
            for t in catalog.types {
                let available = kind == .generic ? 0 : book.available(t)
                if creatable && available == 0 { continue }
                let refusal =
                    kind == .generic
                    ? "the host offers no vGPU interface for \(d.address)" : book.refusal(for: t)?.message
                types.append(
                    TypeRow(
                        name: t.name, id: t.id, framebufferMiB: t.framebufferMiB, nominalMiB: t.nominalMiB,
                        maxInstances: t.maxInstances, inUse: book.count(of: t.name), available: available,
                        placementUnits: t.placementSize, channels: t.channels, copyEngines: t.copyEngines,
                        backing: t.mig.map { "MIG \($0.profile)" } ?? "time-sliced", refusal: refusal))
            }
            var out = GPURow(
                pf: d.address.description, gpu: catalog.gpu.name, catalog: catalog.name, catalogFile: catalog.file,
                backend: kind, usage: book.usage, types: types)
            out.vgpuMode = VGPUModeText.of(root: ctx.root, pf: d.address)
            return out
        }

        func text(_ g: GPURow) -> String {
            let u = g.usage
            var lines = [
                "\(g.pf)  \(g.gpu)  catalog \(g.catalog)  backend \(g.backend.rawValue)  mode \(u.mode)  firmware vGPU mode \(g.vgpuMode)",
                "frame buffer: \(u.framebufferUsedMiB) MiB in use, \(u.framebufferFreeMiB) MiB free (\(u.units - u.unitsUsed) of \(u.units) units of \(u.unitMiB) MiB); channels \(u.channelsUsed) of \(u.channels); vGPUs \(u.vgpus) of \(u.vfSlots) VF slots",
            ]
            if g.types.isEmpty {
                lines.append(creatable ? "no type fits now" : "no types")
            } else {
                lines.append(
                    renderTable(
                        ["TYPE", "ID", "FB MiB", "MAX", "IN USE", "AVAILABLE", "UNITS", "CHANNELS", "CE", "BACKING"],
                        g.types.map {
                            [
                                $0.name, String($0.id), String($0.framebufferMiB), String($0.maxInstances),
                                String($0.inUse), String($0.available),
                                String($0.placementUnits), String($0.channels), String($0.copyEngines), $0.backing,
                            ]
                        }))
            }
            return lines.joined(separator: "\n")
        }
    }
}
