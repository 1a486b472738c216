import ArgumentParser
import Foundation
import GPUModels
import HostKit
import HostSim
import SimGPU

/// `vgpuctl sim`: simulated hosts.
struct Sim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "Create and inspect simulated hosts (sysfs trees that real tools can read).",
        subcommands: [Create.self, Models.self, VGPUModeCommand.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create", abstract: "Write a simulated host tree to DIR.")

        @Argument(help: "Directory to create the host in (new, empty, or an existing simulated host with --force).")
        var dir: String

        @Option(name: .long, help: "Host model (see 'vgpuctl sim models').")
        var model: String

        @Flag(name: .long, help: "Replace DIR if it is already a simulated host.")
        var force = false

        @Option(
            name: .long,
            help:
                "How the host offers vGPU types: vendor (NVIDIA vendor sysfs), mdev, upstream (fwctl control channel) or none (default: what a real host of the model has; vendor for the Hopper and Blackwell models)."
        )
        var vgpuInterface: SimVGPUInterface?

        @OptionGroup var output: OutputOptions

        func run() throws {
            let iface =
                try vgpuInterface
                ?? SimHostBuilder.defaultInterface(
                    model: model, modelsDirectory: HostEnvironment.models())
            let state = try SimHostBuilder.create(
                at: dir, model: model, replace: force, vgpuInterface: iface, modelsDirectory: HostEnvironment.models())
            let root = HostRoot(dir)
            if output.json {
                struct Out: Encodable {
                    var root: String
                    var model: String
                    var devices: Int
                    var kernel: String
                }
                try printJSON(
                    Out(
                        root: root.path, model: state.model, devices: SysfsReader(root: root).pciAddresses().count,
                        kernel: SimulatedKernel.modelledKernel))
            } else {
                let vgpu = iface == .none ? "" : ", vGPU interface \(iface.rawValue)"
                print(
                    "created simulated host '\(state.model)' in \(root.path) (\(SysfsReader(root: root).pciAddresses().count) PCI functions\(vgpu)); try: vgpuctl --root \(root.path) list"
                )
                print("simulated kernel: \(SimulatedKernel.modelledKernel)")
            }
        }
    }

    struct Models: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "models", abstract: "List the host models.")
        @OptionGroup var output: OutputOptions

        func run() throws {
            let models = HostEnvironment.models()
            let names = GPUModels.Models.hostNames(in: models)
            if output.json {
                try printJSON(names)
                return
            }
            for n in names {
                let d = (try? GPUModels.Models.loadHost(n, from: models))?.host.description ?? ""
                print("\(n.padding(toLength: 10, withPad: " ", startingAt: 0))  \(d)")
            }
        }
    }
}

extension SimVGPUInterface: ExpressibleByArgument {}
