import ArgumentParser
import Foundation
import HostKit
import Hypervisor

/// `vgpuctl qemu`: QEMU command-line pieces for assigned devices.
struct QEMU: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "qemu",
        abstract: "QEMU arguments for devices handed to a guest.",
        subcommands: [Args.self])

    struct Args: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "args",
            abstract: "Print the QEMU arguments for assigned devices, one argument per line.",
            discussion: """
                Each device gets '-device vfio-pci,host=BDF,...,id=hostdev-BDF' (an mdev: sysfsdev=). A VF with a \
                vGPU type goes as it is: on NVIDIA's vendor VFIO it stays bound to nvidia (host=), on mdev its mdev \
                (sysfsdev=). --guest NAME takes the VFs the applied host config gave that guest. Grace GPUs \
                get vfio-pci-nohotplug, eight empty guest NUMA nodes and one acpi-generic-initiator per node \
                (QEMU >= 9.0), and the EGM region of their socket as a memory-backend-file NUMA node; retired \
                EGM pages are warned about on stderr. What the QEMU supports is asked of the binary \
                (--qemu, default \(QEMUCapabilities.defaultBinaryName) on PATH) or taken from --qemu-version; \
                a missing feature stops with exit 1 naming it and the release that adds it.
                """)

        @Argument(help: "PCI addresses (or mdev UUIDs) of assigned devices, or VFs with a vGPU type.") var devices:
            [String] = []
        @OptionGroup var guest: GuestOptions
        @OptionGroup var plan: PlanOptions
        @Option(
            name: .long,
            help: ArgumentHelp("Guest bus for every device (a qdev id, e.g. pcie.0 or a root port).", valueName: "BUS"))
        var bus: String?
        @OptionGroup var placement: PlacementOptions
        @Flag(name: .long, help: "Use the iommufd backend (QEMU >= 9.0, kernel with /dev/iommu and VFIO device files).")
        var iommufd = false
        @Flag(name: .customLong("device-json"), help: "Write -device values in JSON (QEMU >= 6.2).") var deviceJSON =
            false
        @Flag(name: .customLong("no-egm"), help: "Leave Grace GPUs' EGM regions out.") var noEGM = false
        @OptionGroup var qemu: QEMUBinaryOptions
        @OptionGroup var host: HostOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let env = try host.environment()
            let root = env.root
            let resolved = try plan.resolve(try guest.names(devices, root: root), root: root)
            try HandOffEngineGate.check(HandOffEngineGate.addresses(resolved), HostContext(env: env))
            let request = QEMUArgsRequest(
                devices: resolved, bus: bus, firstSlot: try placement.slot(), rombar: placement.rombar,
                firstNode: placement.firstNode, iommufd: iommufd, deviceJSON: deviceJSON, egm: !noEGM)
            let caps = try qemu.capabilities()
            if iommufd {
                // The QEMU first (its message names the release that adds iommufd), then the kernel.
                try caps.require(.iommufd, for: "--iommufd needs")
                try QEMUArgsBuilder.checkIOMMUFD(root: root, devices: resolved)
            }
            let source = env.egmSource
            let line = try QEMUArgsBuilder.build(request, capabilities: caps) { (pxm: Int) throws(VGPUError) in
                try source.retiredPages(pxm: pxm)
            }
            for w in line.warnings { printWarning(w) }
            for n in line.notes { printNote(n) }
            if output.json { try printJSON(line.arguments) } else { print(line.arguments.joined(separator: "\n")) }
        }
    }
}
