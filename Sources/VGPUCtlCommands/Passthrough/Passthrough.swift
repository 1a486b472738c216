import ArgumentParser
import Foundation
import HostKit
import Passthrough

/// `vgpuctl passthrough`: whole devices (GPUs or VFs) to VFIO.
struct PassthroughCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "passthrough",
        abstract: "Bind devices to their VFIO driver for a VM, and give them back.",
        subcommands: [Assign.self, Release.self, ListAssigned.self])
}

extension PassthroughCommand {
    struct Assign: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Bind a GPU or VF (and its companion functions) to its VFIO driver.",
            discussion:
                "Grace GPUs go to nvgrace_gpu_vfio_pci, everything else to vfio-pci. Loads no module. Refuses (exit 4) when another device in the IOMMU group is bound to a host driver, unless --include-group, and when a process or the kernel uses a device whose driver would change (an open node, a mapped BAR, a mount, an interface up), unless --force."
        )

        @Argument(help: "The device's PCI address.") var device: String
        @Flag(name: .long, help: "Also bind the other devices of the IOMMU group to vfio-pci.") var includeGroup = false
        @Flag(name: .long, help: "Assign even while a process or the kernel uses the device.") var force = false
        @OptionGroup var host: HostOptions
        @OptionGroup var lock: LockOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let a = try address(device)
            let ctx = try HostContext(host)
            let r = try ctx.mutate(commandLineText, lock: lock) {
                try PassthroughManager(root: ctx.root, kernel: ctx.kernel).assign(
                    a, includeGroup: includeGroup, force: force)
            }
            if output.json {
                try printJSON(r)
                return
            }
            if r.alreadyAssigned {
                print(
                    "\(a) is already assigned to \(r.vfioDriver) (IOMMU group \(r.iommuGroup), \(r.groupFile)); nothing changed"
                )
                return
            }
            print("assigned \(a) to \(r.vfioDriver) (IOMMU group \(r.iommuGroup), \(r.groupFile))")
            for s in r.steps {
                print(
                    "  \(s.address): \(s.fromDriver ?? "(none)") -> \(s.toDriver)\(s.reason == "requested" ? "" : " (\(s.reason))")"
                )
            }
        }
    }

    struct Release: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Give a device back to the drivers it had before 'passthrough assign' (refused while a VM holds it).")

        @Argument(help: "The device's PCI address.") var device: String
        @OptionGroup var host: HostOptions
        @OptionGroup var lock: LockOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let a = try address(device)
            let ctx = try HostContext(host)
            let r = try ctx.mutate(commandLineText, lock: lock) {
                try PassthroughManager(root: ctx.root, kernel: ctx.kernel).release(a)
            }
            if output.json {
                try printJSON(r)
                return
            }
            print("released \(a)")
            for s in r.restored { print("  \(s.address): \(s.fromDriver ?? "-") -> \(s.toDriver)") }
        }
    }

    struct ListAssigned: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "What vgpuctl has assigned, since when, and whether it is open.")

        @OptionGroup var host: HostOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let root = try host.hostRoot()
            let list = try PassthroughManager(root: root, kernel: SysfsKernel(root: root)).list()
            if output.json {
                struct Out: Encodable { var devices: [PassthroughManager.Listed] }
                try printJSON(Out(devices: list))
                return
            }
            if list.isEmpty {
                print("nothing is assigned")
                return
            }
            print(
                renderTable(
                    ["ADDRESS", "DRIVER", "WAS", "GROUP", "SINCE", "OPEN BY", "NOTE"],
                    list.map {
                        [
                            $0.address, $0.driver ?? "-", $0.previousDriver ?? "(none)",
                            $0.iommuGroup.map(String.init) ?? "-", $0.since,
                            $0.openBy.isEmpty
                                ? "-" : $0.openBy.map { "\($0.pid) (\($0.command))" }.joined(separator: ", "),
                            ($0.intact ? "" : "no longer bound to \($0.vfioDriver)")
                                + ($0.reason == "requested" ? "" : " \($0.reason) of \($0.assignedWith)"),
                        ]
                    }))
        }
    }
}
