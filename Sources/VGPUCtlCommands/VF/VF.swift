import ArgumentParser
import Foundation
import HostKit
import VGPUTypes
import VirtualFunctions

/// `vgpuctl vf`: SR-IOV virtual functions.
struct VF: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vf",
        abstract: "Enable, disable and list SR-IOV virtual functions; give them vGPU types.",
        subcommands: [Enable.self, Disable.self, ListVFs.self, Create.self, Assign.self, Clear.self])
}
