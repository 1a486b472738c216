import ArgumentParser
import Foundation
import GPUModels
import GSPMessaging
import HostKit
import HostSim
import SimGPU

extension GSP {
    /// `vgpuctl gsp boot PF`.
    struct Boot: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "boot",
            abstract: "Boot GSP-RM for a GPU with vGPU enabled (simulated host: starts gsp-stub, which keeps running).")

        @Argument(help: ArgumentHelp("The GPU's physical function.", valueName: "PF"))
        var pf: String

        @OptionGroup var host: HostOptions
        @OptionGroup var output: OutputOptions

        @Option(
            name: .long,
            help:
                "vGPU: auto (upstream's rule: the chip allows it, TotalVFs >= 2, the FSP vGPU mode is enabled; a PF without SR-IOV boots without vGPU), on, off."
        )
        var vgpu: VGPUMode = .auto

        @Option(name: .long, help: ArgumentHelp("Extra registry key for GSP-RM (repeatable).", valueName: "KEY=VALUE"))
        var registry: [String] = []

        @Option(name: .long, help: ArgumentHelp("Seconds each wait for GSP may take.", valueName: "SECONDS"))
        var timeout: Double = 10

        @Option(name: .long, help: .hidden)
        var stubFault: [String] = []

        @Option(
            name: .long,
            help:
                "The firmware wire format the stub plays: r570.144 (mainline, the default) or r000_00 (the development firmware's GMC API over MCTP/NVDM elements)."
        )
        var firmware: GSPWireFormat = .r570_144

        func run() throws {
            let address = try PCIAddress.parse(pf, what: "PCI address of the GPU")
            let extra = try registry.map { s throws(CommandError) -> RegistryEntry in
                guard let e = RegistryEntry.parse(s) else {
                    throw .invalid(
                        .badOption,
                        "'\(s)' is not a registry setting; expected KEY=VALUE with a decimal or 0x value, e.g. RMSetSriovMode=1"
                    )
                }
                return e
            }
            guard timeout > 0, timeout <= 3600 else {
                throw CommandError.invalid(.badOption, "--timeout must be between 0 and 3600 seconds, got \(timeout)")
            }
            let env = try host.environment()
            let root = env.root
            try CommandError.requireDevice(address, root: root, hint: "run 'vgpuctl list' to see the GPUs")
            guard root.isSimulated else { throw RealHostGSP.explain(root: root, pf: address) }

            let model = try SimulatedModel.gpuModel(root: root, pf: address, models: env.models)
            let pfConfig = try PFConfig.read(root: root, address: address)
            let plan = try VGPUBootPlan.make(
                pf: address, config: pfConfig.config, sriovOffset: pfConfig.sriovOffset,
                mode: vgpu, frameBufferBytes: (model.spec.memoryMiB?.value ?? 0) << 20,
                extraRegistry: extra, fspVGPUMode: try SimFSP(root: root).vgpuMode(address))
            let launcher = try env.stubLauncher()
            if firmware == .r000_00 {
                let report = try env.gsp(address).bootGMC(
                    plan: plan, model: model.name, launcher: launcher,
                    stubArguments: stubFault.flatMap { ["--fault", $0] },
                    receiveTimeout: .milliseconds(Int64(timeout * 1000)))
                if output.json { try printJSON(report) } else { print(GSPText.gmcBoot(report)) }
                return
            }
            let report = try env.gsp(address).boot(
                plan: plan, model: model.name, launcher: launcher,
                stubArguments: stubFault.flatMap { ["--fault", $0] },
                receiveTimeout: .milliseconds(Int64(timeout * 1000)))
            if output.json {
                try printJSON(report)
            } else {
                print(GSPText.boot(report))
            }
        }
    }
}

extension VGPUMode: ExpressibleByArgument {}

/// The GPU model a simulated host's PF was built from.
enum SimulatedModel {
    static func gpuModel(root: HostRoot, pf: PCIAddress, models: URL) throws(CommandError) -> (
        name: String, spec: DeviceSpec
    ) {
        guard let data = FileManager.default.contents(atPath: root.url(HostRoot.simulationMarker)),
            let state = try? JSONDecoder().decode(SimState.self, from: data)
        else {
            throw .invalid(
                .simulation,
                "\(root.url(HostRoot.simulationMarker)) is missing or damaged; recreate the host with 'vgpuctl sim create'"
            )
        }
        let host: LoadedHost
        do { host = try Models.loadHost(state.model, from: models) } catch {
            throw .failed(.simulation, "cannot load host model '\(state.model)': \(error.message)", underlying: error)
        }
        guard let dev = host.host.devices.first(where: { PCIAddress($0.address) == pf }), let name = dev.model,
            let spec = host.gpus[name]
        else {
            throw .invalid(
                .wrongDevice,
                "\(pf) is not a GPU of simulated host model '\(state.model)'; run 'vgpuctl --root \(root.path) list' to see its GPUs"
            )
        }
        return (name, spec)
    }
}

/// What `gsp boot` says on a real host.
enum RealHostGSP {
    static func explain(root: HostRoot, pf: PCIAddress) -> CommandError {
        let sysfs = SysfsReader(root: root)
        var found: [String] = []
        if let dev = sysfs.device(pf) {
            found.append("\(pf) [\(dev.id)] is bound to \(dev.driver.map { "driver \($0)" } ?? "no driver")")
            if let s = dev.sriov { found.append("SR-IOV \(s.numVFs)/\(s.totalVFs) VFs enabled") }
        }
        let fwctl = sysfs.list(HostRoot.fwctlClass)
        found.append(
            fwctl.isEmpty
                ? "no fwctl devices (\(root.url(HostRoot.fwctlClass)) is empty or missing)"
                : "fwctl devices: \(fwctl.joined(separator: ", "))")
        return .failed(
            .simulation,
            "booting GSP-RM is the kernel driver's job on a real host (nvidia.ko, or nova-core with vgpu_support); vgpuctl does not load firmware. Found: \(found.joined(separator: "; ")). 'vgpuctl gsp boot' runs against simulated hosts ('vgpuctl sim create DIR --model h100x8', then --root DIR)"
        )
    }
}
