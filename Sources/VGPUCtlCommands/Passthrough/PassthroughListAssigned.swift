import ArgumentParser
import Foundation
import HostKit
import Passthrough

extension PassthroughCommand {
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
