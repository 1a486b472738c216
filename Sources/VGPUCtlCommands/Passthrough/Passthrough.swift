import ArgumentParser
import Foundation
import HostKit
import Passthrough

/// `vgpuctl passthrough`: whole devices (GPUs or VFs) to VFIO.
struct PassthroughCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "passthrough",
        abstract: "Bind devices to their VFIO driver for a VM, and give them back.",
        subcommands: [Assign.self, Release.self, ListAssigned.self])
}
