import ArgumentParser
import Foundation
import HostKit
import Passthrough

extension PassthroughCommand {
    struct Assign: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "assign",
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
            try HandOffEngineGate.check([a], ctx)
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
}
