import ArgumentParser
import Foundation
import HostKit
import Hypervisor
import Passthrough

extension QMP {
    struct Detach: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "detach",
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
                throw CommandError.invalid(.badOption, "--timeout must be between 0 and 3600 seconds, not \(timeout)")
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
}
