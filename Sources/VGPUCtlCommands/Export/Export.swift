import ArgumentParser
import Fleet
import Foundation
import HostKit
import Reconcile

/// `vgpuctl export`: settings for the fleet engines that hand this host's devices to VMs.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract:
            "Settings for fleet engines (OpenStack Nova) describing this host's devices as they are, or as a host config would make them.",
        subcommands: [Nova.self])
}

extension Export {
    struct Nova: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "nova",
            abstract:
                "nova.conf settings ([pci] device_spec/alias, [devices] enabled_mdev_types, [mdev_<type>]) for the host as it is, or as a host config would make it.",
            discussion: """
                Typed VFs (NVIDIA vendor VFIO) get one [pci] device_spec each (managed "no", resource class
                CUSTOM_<TYPE>) and one alias per type; mdev vGPUs their [devices] and [mdev_<type>] sections;
                GPUs on VFIO a device_spec each. Without -f: the host as it is (apply a host config
                first). With -f FILE [-c NAME]: the host as that config would make it, changing nothing
                (the VFs, types and VFIO bindings the apply would leave; mdev UUIDs do not appear in
                nova.conf, so none are needed).
                """)

        @Option(
            name: .shortAndLong,
            help: ArgumentHelp(
                "Host config file: export the host as this config would make it (nothing is changed).",
                valueName: "FILE"))
        var file: String?

        @Option(
            name: [.customShort("c"), .long],
            help: ArgumentHelp("Which config of the file (default: the only one, or 'default').", valueName: "NAME"))
        var config: String?

        @OptionGroup var host: HostOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            if config != nil && file == nil {
                throw ValidationError("-c/--config names a config of a file; give the file with -f FILE")
            }
        }

        func run() throws {
            let ctx = try HostContext(host)
            let snapshot: FleetSnapshot
            if let file {
                let cfg = try HostConfigParser.load(path: file, config: config)
                snapshot = try ctx.projectedFleet(cfg)
            } else {
                snapshot = ctx.fleetScanner().scan()
            }
            // Unhealthy devices (being reconfigured, driver lost, unusable group) get no
            // device_spec in either form; `--json` lists them with their reason.
            let ready = FleetSnapshot(
                devices: snapshot.devices.filter(\.healthy), egm: snapshot.egm, hasIOMMUFD: snapshot.hasIOMMUFD)
            if output.json {
                struct Out: Encodable {
                    var devices: [FleetDevice]
                    var novaConf: String
                }
                try printJSON(Out(devices: snapshot.devices, novaConf: NovaConfig.render(ready, names: Self.aliasName)))
                return
            }
            for d in snapshot.devices where !d.healthy { printWarning("\(d.id) is left out: \(d.unhealthy ?? "")") }
            print(NovaConfig.render(ready, names: Self.aliasName), terminator: "")
        }

        /// The alias name of a passthrough GPU or generic VF: its resource name without the domain.
        static func aliasName(_ d: FleetDevice) -> String {
            d.resource.split(separator: "/").last.map(String.init) ?? d.resource
        }
    }
}
