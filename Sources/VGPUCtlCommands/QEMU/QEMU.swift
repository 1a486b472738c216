import ArgumentParser
import Foundation
import HostKit

/// `vgpuctl qemu`: QEMU command-line pieces for assigned devices.
struct QEMU: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "QEMU arguments for devices vgpuctl has assigned.",
        subcommands: [Args.self])

    struct Args: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print '-device vfio-pci,host=BDF,id=ID' for each assigned device, one argument per line.")

        @Argument(help: "PCI addresses of assigned devices.") var devices: [String]
        @OptionGroup var host: HostOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            guard !devices.isEmpty else { throw VGPUError.invalid("name at least one device") }
            let addrs = try devices.map { s throws(VGPUError) in try address(s) }
            let root = try host.hostRoot()
            let sysfs = SysfsReader(root: root)
            var args: [String] = []
            for a in addrs {
                guard let d = sysfs.device(a) else {
                    throw VGPUError.invalid("no PCI device \(a) under \(root.url(HostRoot.pciDevices))")
                }
                let want = PCIIDs.vfioDriver(vendor: d.vendorID, device: d.deviceID).rawValue
                guard d.driver == want else {
                    throw VGPUError.invalid("\(a) is not assigned (it is \(d.driver.map { "bound to \($0)" } ?? "unbound")); run 'vgpuctl passthrough assign \(a)' first")
                }
                args += ["-device", "vfio-pci,host=\(a),id=\(QEMUArgs.deviceID(a))"]
            }
            if output.json { try printJSON(args) } else { print(args.joined(separator: "\n")) }
        }
    }
}

/// Pieces of QEMU command lines.
enum QEMUArgs {
    /// A stable QEMU device id for a host device: `hostdev-` and the address with `:` made `-`
    /// (QEMU ids take letters, digits, `-`, `.`, `_` and start with a letter).
    static func deviceID(_ a: PCIAddress) -> String {
        "hostdev-" + a.description.replacingOccurrences(of: ":", with: "-")
    }
}
