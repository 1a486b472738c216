import ArgumentParser
import Fleet
import Foundation
import HostKit

/// `vgpuctl export`: settings for the fleet engines that hand this host's devices to VMs.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Settings for fleet engines (OpenStack Nova) describing this host's devices as they are.",
        subcommands: [Nova.self])
}

extension Export {
    struct Nova: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "nova.conf settings ([pci] device_spec/alias, [devices] enabled_mdev_types, [mdev_<type>]) for the host as it is.",
            discussion: """
                Typed VFs (NVIDIA vendor VFIO) get one [pci] device_spec each (managed "no", resource class
                CUSTOM_<TYPE>) and one alias per type; mdev vGPUs their [devices] and [mdev_<type>] sections;
                GPUs on VFIO a device_spec each. Apply a host config first ('vgpuctl apply'), then export.
                """)

        @OptionGroup var host: HostOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let ctx = try HostContext(host)
            let snapshot = ctx.fleetScanner().scan()
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
