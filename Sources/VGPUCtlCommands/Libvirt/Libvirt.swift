import ArgumentParser
import Foundation
import HostKit
import Hypervisor

/// `vgpuctl libvirt`: domain XML for devices handed to a guest.
struct Libvirt: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "libvirt domain XML for devices handed to a guest.",
        subcommands: [XML.self])

    struct XML: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "xml",
            abstract: "Print <hostdev> elements (and, for Grace GPUs, a <qemu:commandline>) for assigned devices.",
            discussion: """
            PCI devices: <hostdev mode='subsystem' type='pci' managed='yes'> with the alias ua-hostdev-BDF; \
            mdevs (and VFs whose vGPU is an mdev): <hostdev type='mdev' model='vfio-pci'> with the UUID; a VF \
            with a vGPU on NVIDIA's vendor VFIO: managed='no' (it stays bound to nvidia). --guest NAME takes \
            the VFs the applied host config gave that guest. Grace GPUs' eight guest NUMA nodes \
            and acpi-generic-initiator objects, which libvirt cannot express, go in a <qemu:commandline>; \
            EGM is left out (libvirt cannot back a NUMA node with /dev/egm<pxm> yet). Notes go to stderr.
            """)

        @Argument(help: "PCI addresses (or mdev UUIDs) of assigned devices, or VFs with a vGPU type.") var devices: [String] = []
        @OptionGroup var guest: GuestOptions
        @OptionGroup var plan: PlanOptions
        @OptionGroup var placement: PlacementOptions
        @Flag(name: .long, help: "managed='no': vgpuctl (passthrough assign or the hook), not libvirt, binds the devices.") var unmanaged = false
        @OptionGroup var qemu: QEMUBinaryOptions
        @OptionGroup var host: HostOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let root = try host.hostRoot()
            let resolved = try plan.resolve(try guest.names(devices, root: root), root: root)
            // Only Grace GPUs need a QEMU feature libvirt does not handle itself.
            let caps = resolved.contains(where: \.grace) ? try qemu.capabilities() : QEMUCapabilities(source: .none(searched: QEMUCapabilities.defaultBinaryName), version: nil)
            let request = LibvirtXMLRequest(devices: resolved, managed: !unmanaged, firstSlot: try placement.slot(), rombar: placement.rombar,
                                            firstNode: placement.firstNode)
            let pieces = try LibvirtXML.build(request, capabilities: caps)
            for n in pieces.notes { printNote(n) }
            if output.json { try printJSON(pieces) } else { print(pieces.text) }
        }
    }
}
