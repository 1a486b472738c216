import ArgumentParser
import Foundation
import HostKit
import Hypervisor
import Passthrough

/// `vgpuctl qmp`: hot-plug assigned devices into a running VM over its QMP socket.
struct QMP: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Hot-plug assigned devices into a running VM over QMP, and unplug them.",
        discussion:
            "SOCKET is the VM's QMP socket (QEMU's -qmp unix:SOCKET,server=on,wait=off). Errors from QEMU are shown with their class and description (exit 1); a path that is not a QMP socket exits 2.",
        subcommands: [Attach.self, Detach.self, ListDevices.self])
}

/// `--socket PATH` and the connection it names.
struct QMPSocketOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The VM's QMP socket.", valueName: "PATH")) var socket: String

    func connect() throws(VGPUError) -> QMPClient {
        let client = QMPClient(transport: try UnixSocketTransport(path: socket))
        try client.connect()
        return client
    }
}

extension QMP {
    struct Attach: ParsableCommand {
        static let configuration = CommandConfiguration(
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
                throw VGPUError.invalid(
                    "\(d.name) is a Grace GPU: it is handed over as vfio-pci-nohotplug with guest NUMA nodes that exist only from boot, so it cannot be hot-plugged; start the VM with 'vgpuctl qemu args \(d.name)'"
                )
            }
            if let addr, addr.isEmpty || !addr.allSatisfy({ $0.isHexDigit || $0 == "." || $0 == "x" }) {
                throw VGPUError.invalid("--addr '\(addr)' is not a slot such as 00.0")
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

    struct Detach: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a device from a running VM: succeeds only once QEMU reports DEVICE_DELETED.",
            discussion:
                "device_del only asks the guest OS to let go. If it does not within --timeout, the device stays in the VM and assigned on the host, and the command fails (exit 1) saying the guest did not release it. With --release a released device is then given back to its host driver ('passthrough release')."
        )

        @OptionGroup var qmp: QMPSocketOptions
        @Option(name: .long, help: ArgumentHelp("The device's id in the VM (see 'qmp list').", valueName: "ID")) var id:
            String
        @Option(name: .long, help: ArgumentHelp("Seconds to wait for the guest to release it.", valueName: "S"))
        var timeout: Double = 30
        @Flag(name: .long, help: "Then give the host device back to its previous driver (passthrough release).")
        var release = false
        @OptionGroup var lock: LockOptions
        @OptionGroup var host: HostOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            guard timeout > 0, timeout <= 3600 else {
                throw VGPUError.invalid("--timeout must be between 0 and 3600 seconds, not \(timeout)")
            }
            let ctx = release ? try HostContext(host) : nil
            let client = try qmp.connect()
            let gone = try QMPHotplug(client: client).detach(id: id, timeout: .milliseconds(Int(timeout * 1000)))
            var released: PassthroughManager.Release?
            if let ctx, let h = gone.host, let a = PCIAddress(h) {
                released = try ctx.mutate("qmp detach --release \(id)", lock: lock) {
                    try PassthroughManager(root: ctx.root, kernel: ctx.kernel).release(a)
                }
            }
            if output.json {
                struct Out: Encodable {
                    var detached: QMPHotplug.Detached
                    var released: PassthroughManager.Release?
                }
                try printJSON(Out(detached: gone, released: released))
                return
            }
            print("detached \(id)\(gone.host.map { " (host \($0))" } ?? "") from the VM")
            if let released { print("released \(released.device)") }
        }
    }

    struct ListDevices: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "The VFIO devices of a running VM (qom-list, query-pci).")

        @OptionGroup var qmp: QMPSocketOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let list = try QMPHotplug(client: try qmp.connect()).list()
            if output.json {
                struct Out: Encodable { var devices: [VMDevice] }
                try printJSON(Out(devices: list))
                return
            }
            if list.isEmpty {
                print("the VM has no VFIO devices")
                return
            }
            print(
                renderTable(
                    ["ID", "DRIVER", "HOST", "GUEST", "IDS"],
                    list.map { d in
                        [
                            d.id ?? "(anonymous)", d.driver, d.host ?? d.sysfsdev ?? "-", d.guestAddress ?? "-",
                            d.vendorID.map { "\($0):\(d.deviceID ?? "?")" } ?? "-",
                        ]
                    }))
        }
    }
}
