import Foundation
import HostKit

/// A `list` entry with what vgpuctl adds about a VF: its vGPU type, the guest the applied host
/// config gave it, and the processes (VMs) holding it through VFIO. Encoded as the inventory
/// entry's keys plus `vgpuType`, `guest` and `openBy` (null / empty for anything that is not a VF).
struct ListedDevice: Encodable {
    var entry: Inventory.Entry
    var vgpuType: String?
    var guest: String?
    var openBy: [VFIOHolder]
    /// For a PF: why its VFs' vGPU types could not be read (nil when they could, or not a PF).
    var vgpuProblem: String? = nil

    enum Keys: String, CodingKey { case vgpuType, guest, openBy, vgpuProblem }

    func encode(to encoder: any Encoder) throws {
        try entry.encode(to: encoder)
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(vgpuType, forKey: .vgpuType)
        try c.encode(guest, forKey: .guest)
        try c.encode(openBy, forKey: .openBy)
        try c.encodeIfPresent(vgpuProblem, forKey: .vgpuProblem)
    }

    /// The entries of `inv` with their VFs' vGPU facts (`inUseBy` already filled in).
    static func read(_ inv: Inventory, root: HostRoot) throws -> [ListedDevice] {
        let pfs = inv.devices.map(\.device).filter { $0.sriov?.numVFs ?? 0 > 0 }
        let vgpu = try VGPUListing.read(root: root, pfs: pfs, fits: false, engines: false)
        return inv.devices.map { e in
            let a = e.device.address
            guard e.device.physfn != nil else {
                return ListedDevice(entry: e, vgpuType: nil, guest: nil, openBy: [], vgpuProblem: vgpu.pfs[a]?.problem)
            }
            // The VMs holding it: its users (one proc pass in `list`) that hold a VFIO file.
            let openBy = e.inUseBy.compactMap { u in
                u.pid.map { VFIOHolder(pid: $0, command: u.command, file: u.file) }
            }.filter { $0.file.hasPrefix("/dev/vfio/") }
            return ListedDevice(entry: e, vgpuType: vgpu.types[a], guest: vgpu.guests[a], openBy: openBy)
        }
    }

    /// The table's notes about the VF.
    var notes: [String] {
        var out: [String] = []
        if let t = vgpuType { out.append("vGPU \(t)") }
        if let g = guest { out.append("guest \(g)") }
        if let p = vgpuProblem { out.append("vGPU types not readable: \(p)") }
        if !openBy.isEmpty {
            out.append("held by " + openBy.map { "pid \($0.pid) (\($0.command))" }.joined(separator: ", "))
        }
        return out
    }
}
