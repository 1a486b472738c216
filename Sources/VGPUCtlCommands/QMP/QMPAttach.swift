import ArgumentParser
import Foundation
import HostKit
import Hypervisor
import Passthrough

extension QMP {
    struct Attach: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "attach",
            abstract: "Add an assigned device to a running VM (device_add vfio-pci) and show where the guest sees it.",
            discussion:
                "On q35 a device needs a hot-pluggable bus: pass --bus with the id of a free pcie-root-port. Grace GPUs cannot be hot-plugged (their NUMA nodes exist only from boot): use 'vgpuctl qemu args'."
        )

        @Argument(help: "PCI address (or mdev UUID) of an assigned device.") var device: String
        @OptionGroup var qmp: QMPSocketOptions
        @Option(
            name: .long, help: ArgumentHelp("The device's id in the VM (default hostdev-<address>).", valueName: "ID"))
        var id: String?
        @Option(name: .long, help: ArgumentHelp("The bus to plug into (e.g. a pcie-root-port's id).", valueName: "BUS"))
        var bus: String?
        @Option(name: .long, help: ArgumentHelp("The slot on that bus (e.g. 00.0).", valueName: "SLOT.FN")) var addr:
            String?
        @OptionGroup var host: HostOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let root = try host.hostRoot()
            guard let d = try DeviceResolver(root: root).resolve([device], plan: false).first else { return }
            if d.grace {
                throw CommandError.invalid(
                    .wrongDevice,
                    "\(d.name) is a Grace GPU: it is handed over as vfio-pci-nohotplug with guest NUMA nodes that exist only from boot, so it cannot be hot-plugged; start the VM with 'vgpuctl qemu args \(d.name)'"
                )
            }
            if let addr, addr.isEmpty || !addr.allSatisfy({ $0.isHexDigit || $0 == "." || $0 == "x" }) {
                throw CommandError.invalid(.badOption, "--addr '\(addr)' is not a slot such as 00.0")
            }
            let client = try qmp.connect()
            let added = try QMPHotplug(client: client).attach(d, id: id ?? d.qemuID, bus: bus, addr: addr)
            if output.json {
                try printJSON(added)
                return
            }
            let seen =
                added.guestAddress.map {
                    " at guest address \($0)" + (added.vendorID.map { " (\($0):\(added.deviceID ?? "?"))" } ?? "")
                } ?? ""
            print("attached \(d.name) to the VM as \(added.id ?? d.qemuID)\(seen)")
        }
    }
}
