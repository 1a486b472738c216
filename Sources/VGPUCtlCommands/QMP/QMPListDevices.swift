import ArgumentParser
import Foundation
import HostKit
import Hypervisor
import Passthrough

extension QMP {
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
