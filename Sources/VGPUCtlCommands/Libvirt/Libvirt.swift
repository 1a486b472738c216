import ArgumentParser
import Foundation
import HostKit
import Hypervisor

/// `vgpuctl libvirt`: domain XML for devices handed to a guest.
struct Libvirt: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "libvirt",
        abstract: "libvirt domain XML for devices handed to a guest.",
        subcommands: [XML.self])

    struct XML: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "xml",
            abstract: "Print <hostdev> elements (and, for Grace GPUs, a <qemu:commandline>) for assigned devices.",
            discussion: """
                PCI devices: <hostdev mode='subsystem' type='pci' managed='yes'> with the alias ua-hostdev-BDF (only letters, digits, '-': libvirt drops other user aliases); \
                mdevs (and VFs whose vGPU is an mdev): <hostdev type='mdev' model='vfio-pci'> with the UUID; a VF \
                with a vGPU on NVIDIA's vendor VFIO: managed='no' (it stays bound to nvidia). --guest NAME takes \
                the VFs the applied host config gave that guest. Grace GPUs' eight guest NUMA nodes: \
                for libvirt >= 11.8 an <acpi nodeset='...'/> in the GPU's <hostdev> plus memoryless <cell>s for \
                <cpu><numa> (libvirt creates the acpi-generic-initiator objects); for older libvirt the nodes and \
                objects go in a <qemu:commandline>. The libvirt version is --libvirt-version or asked of \
                'virsh --version' ('libvirtd --version'); with neither, the <qemu:commandline> form. EGM is left \
                out (libvirt cannot back a NUMA node with /dev/egm<pxm> yet). Notes go to stderr.
                """)

        @Argument(help: "PCI addresses (or mdev UUIDs) of assigned devices, or VFs with a vGPU type.") var devices:
            [String] = []
        @OptionGroup var guest: GuestOptions
        @OptionGroup var plan: PlanOptions
        @OptionGroup var placement: PlacementOptions
        @Flag(
            name: .long, help: "managed='no': vgpuctl (passthrough assign or the hook), not libvirt, binds the devices."
        ) var unmanaged = false
        @Option(
            name: .customLong("libvirt-version"),
            help: ArgumentHelp(
                "The libvirt that will run the guest (default: asked of virsh/libvirtd --version); 11.8 or newer gets <acpi nodeset> for Grace GPUs.",
                valueName: "X.Y"))
        var libvirtVersion: String?

        func validate() throws {
            if let v = libvirtVersion, LibvirtVersion(v) == nil {
                throw ValidationError("--libvirt-version '\(v)' is not a libvirt version such as 11.8 or 11.3.0")
            }
        }

        /// Whether the libvirt in use knows `<acpi nodeset>` in a `<hostdev>` (only asked when
        /// Grace GPUs are handed over).
        func nativeGenericInitiators() throws(HypervisorError) -> Bool {
            if let text = libvirtVersion {
                guard let v = LibvirtVersion(text) else {
                    throw .invalid(
                        .badOption, "--libvirt-version '\(text)' is not a libvirt version such as 11.8 or 11.3.0")
                }
                return v >= LibvirtVersion.hostdevACPINodeset
            }
            guard let found = try LibvirtVersion.detect(path: ProcessInfo.processInfo.environment["PATH"]) else {
                printNote(
                    "no virsh or libvirtd found: Grace GPUs get the <qemu:commandline> form every libvirt accepts; --libvirt-version 11.8 (or newer) gives <acpi nodeset>"
                )
                return false
            }
            printNote(
                "libvirt \(found.version) (\(found.program) --version): \(found.version >= LibvirtVersion.hostdevACPINodeset ? "<acpi nodeset> for Grace GPUs" : "Grace GPUs' nodes through <qemu:commandline> (<acpi nodeset> needs libvirt 11.8)")"
            )
            return found.version >= LibvirtVersion.hostdevACPINodeset
        }
        @OptionGroup var qemu: QEMUBinaryOptions
        @OptionGroup var host: HostOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let env = try host.environment()
            let root = env.root
            let resolved = try plan.resolve(try guest.names(devices, root: root), root: root)
            try HandOffEngineGate.check(HandOffEngineGate.addresses(resolved), HostContext(env: env))
            // Only Grace GPUs need a QEMU feature libvirt does not handle itself.
            let caps =
                resolved.contains(where: \.grace)
                ? try qemu.capabilities()
                : QEMUCapabilities(source: .none(searched: QEMUCapabilities.defaultBinaryName), version: nil)
            let native = resolved.contains(where: \.grace) ? try nativeGenericInitiators() : false
            let request = LibvirtXMLRequest(
                devices: resolved, managed: !unmanaged, firstSlot: try placement.slot(), rombar: placement.rombar,
                firstNode: placement.firstNode, acpiNodeset: native)
            let pieces = try LibvirtXML.build(request, capabilities: caps)
            for n in pieces.notes { printNote(n) }
            if output.json { try printJSON(pieces) } else { print(pieces.text) }
        }
    }
}
