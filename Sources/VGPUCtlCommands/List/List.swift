import ArgumentParser
import Foundation
import HostKit

/// `vgpuctl list`: the inventory an operator looks at first.
struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List GPUs, their VFs and the devices sharing their IOMMU groups (--all: every PCI function).")

    @OptionGroup var host: HostOptions
    @OptionGroup var output: OutputOptions

    @Flag(name: .long, help: "List every PCI function, not only GPUs and their IOMMU group companions.")
    var all = false

    @Option(name: .long, help: ArgumentHelp("Show only this device (and its VFs).", valueName: "BDF"))
    var device: String?

    func run() throws {
        // Validate arguments before touching the host.
        let only = try device.map { s throws(VGPUError) in try PCIAddress.parse(s) }
        let root = try host.hostRoot()
        if let only, !SysfsReader(root: root).exists(HostRoot.device(only)) {
            throw CommandError.invalid(
                .noDevice,
                "no PCI device \(only) under \(root.url(HostRoot.pciDevices)); run 'vgpuctl list --all' to see the addresses"
            )
        }
        let pci = try LibPCI(root: root)
        var inv = Inventory.read(root: root, scope: (all || only != nil) ? .all : .gpus, names: pci)
        if let only {
            inv.devices = inv.devices.filter { $0.device.address == only || $0.device.physfn == only }
        }
        // One pass over proc for every listed device (DeviceUsage: its cost is in the benchmark).
        let users = DeviceUsage(root: root).users(of: inv.devices.map(\.device))
        for i in inv.devices.indices {
            inv.devices[i].inUseBy = users[inv.devices[i].device.address] ?? []
            inv.devices[i].device.entries = []  // the directory listings have served; not kept while printing
        }
        let listed = try ListedDevice.read(inv, root: root)
        if output.json {
            struct Out: Encodable {
                var devices: [ListedDevice]
                var egm: [Inventory.EGMRegion]
            }
            try printJSON(Out(devices: listed, egm: inv.egm))
            return
        }
        print(Self.table(inv, listed: listed))
    }

    static func table(_ inv: Inventory, listed: [ListedDevice] = []) -> String {
        let extra = Dictionary(listed.map { ($0.entry.device.address, $0.notes) }, uniquingKeysWith: { a, _ in a })
        if inv.devices.isEmpty { return "no GPUs found (vgpuctl list --all shows every PCI function)" }
        let rows = inv.devices.map { e -> [String] in
            let d = e.device
            var notes: [String] = []
            if let s = d.sriov { notes.append("SR-IOV \(s.numVFs)/\(s.totalVFs) VFs") }
            if let p = d.physfn { notes.append("VF of \(p)") }
            if d.isGrace { notes.append("Grace: needs \(PCIIDs.VFIODriver.nvgrace.rawValue)") }
            if let o = d.driverOverride { notes.append("override=\(o)") }
            notes += extra[d.address] ?? []
            return [
                d.address.description, d.id, d.driver ?? "-", d.iommuGroup.map(String.init) ?? "-",
                d.numaNode >= 0 ? String(d.numaNode) : "-", e.name, notes.joined(separator: "; "),
                inUseColumn(e.inUseBy),
            ]
        }
        var out = renderTable(["ADDRESS", "ID", "DRIVER", "GROUP", "NUMA", "NAME", "NOTES", "IN USE BY"], rows)
        if !inv.egm.isEmpty {
            out +=
                "\n\nEGM regions:\n"
                + renderTable(
                    ["DEVICE", "PXM", "SIZE", "GPUS"],
                    inv.egm.map {
                        [$0.device, String($0.pxm), formatBytes($0.size), $0.gpus.joined(separator: ",")]
                    })
        }
        return out
    }
}

/// `987 python3, mount /dev/nvme0n1p1, maybe 12 nvidia-smi`, or `-`.
func inUseColumn(_ users: [DeviceUser]) -> String {
    if users.isEmpty { return "-" }
    var seen = Set<String>()
    return users.map { u in
        (u.certainty == .possible ? "maybe " : "") + (u.pid.map { "\($0) \(u.command)" } ?? "\(u.command) \(u.file)")
    }.filter { seen.insert($0).inserted }.joined(separator: ", ")
}

/// `1073741824` -> `1 GiB` (binary units, at most one decimal).
func formatBytes(_ n: UInt64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var v = Double(n)
    var i = 0
    while v >= 1024 && i < units.count - 1 {
        v /= 1024
        i += 1
    }
    return v == v.rounded() ? "\(Int(v)) \(units[i])" : String(format: "%.1f %@", v, units[i])
}
