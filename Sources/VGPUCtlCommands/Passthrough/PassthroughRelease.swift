import ArgumentParser
import Foundation
import HostKit
import Passthrough

extension PassthroughCommand {
    struct Release: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "release",
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
}
