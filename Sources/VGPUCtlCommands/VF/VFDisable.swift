import ArgumentParser
import Foundation
import HostKit
import VirtualFunctions

extension VF {
    struct Disable: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "disable",
            abstract: "Disable every VF of a PF (refused while a VF is open by a process, unless --force).")

        @Argument(help: "The PF's PCI address.") var pf: String
        @Flag(name: .long, help: "Disable even when a process holds a VF open.") var force = false
        @OptionGroup var host: HostOptions
        @OptionGroup var lock: LockOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let pfAddr = try address(pf, what: "PF address")
            let ctx = try HostContext(host)
            let c = VFController(root: ctx.root, kernel: ctx.kernel, waiterFactory: ctx.vfWaiterFactory)
            let removed = try ctx.mutate(commandLineText, lock: lock) { try c.disable(pfAddr, force: force) }
            if output.json {
                struct Out: Encodable {
                    var pf: String
                    var removed: [String]
                }
                try printJSON(Out(pf: pfAddr.description, removed: removed.map(\.description)))
            } else if removed.isEmpty {
                print("\(pfAddr) has no VFs; nothing changed")
            } else {
                print("disabled \(removed.count) VFs on \(pfAddr)")
            }
        }
    }
}
