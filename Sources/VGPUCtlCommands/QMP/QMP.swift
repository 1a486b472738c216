import ArgumentParser
import Foundation
import HostKit
import Hypervisor
import Passthrough

/// `vgpuctl qmp`: hot-plug assigned devices into a running VM over its QMP socket.
struct QMP: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "qmp",
        abstract: "Hot-plug assigned devices into a running VM over QMP, and unplug them.",
        discussion:
            "SOCKET is the VM's QMP socket (QEMU's -qmp unix:SOCKET,server=on,wait=off). Errors from QEMU are shown with their class and description (exit 1); a path that is not a QMP socket exits 2.",
        subcommands: [Attach.self, Detach.self, ListDevices.self])
}
