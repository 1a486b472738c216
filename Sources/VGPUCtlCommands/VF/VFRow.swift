import ArgumentParser
import Foundation
import HostKit
import VirtualFunctions

/// One VF as printed.
struct VFRow: Encodable {
    var index: Int
    var address: String
    var pf: String
    var driver: String?
    var iommuGroup: Int?
    var openBy: [VFIOHolder]
    /// The VF's vGPU type, and the guest the applied host config gave it.
    var vgpuType: String? = nil
    var guest: String? = nil
    /// What the firmware reports about the VF's channels, copy engines and BAR1, checked.
    var engines: VGPUListing.VFEngines? = nil

    enum CodingKeys: String, CodingKey {
        case index, address, pf, driver, iommuGroup, openBy, vgpuType, guest, engines
    }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(index, forKey: .index)
        try c.encode(address, forKey: .address)
        try c.encode(pf, forKey: .pf)
        try c.encode(driver, forKey: .driver)  // null when unbound
        try c.encode(iommuGroup, forKey: .iommuGroup)
        try c.encode(openBy, forKey: .openBy)
        try c.encode(vgpuType, forKey: .vgpuType)  // null when none
        try c.encode(guest, forKey: .guest)  // null when the host config names none
        try c.encode(engines, forKey: .engines)  // null when the firmware reports nothing
    }

    static func rows(pf: PCIAddress, _ sysfs: SysfsReader, vgpu: VGPUListing? = nil) -> [VFRow] {
        (sysfs.device(pf)?.sriov?.vfs ?? []).enumerated().map { i, vf in
            let d = sysfs.device(vf)
            return VFRow(
                index: i, address: vf.description, pf: pf.description, driver: d?.driver,
                iommuGroup: d?.iommuGroup, openBy: sysfs.vfioHolders(vf), vgpuType: vgpu?.types[vf],
                guest: vgpu?.guests[vf], engines: vgpu?.engines[vf])
        }
    }

    /// The table; the FIRMWARE column (channels/copy engines/BAR1 as the firmware reports them,
    /// `!` when they disagree with the book or the BAR) only when some VF has a report.
    static func table(_ rows: [VFRow]) -> String {
        let fw = rows.contains { $0.engines != nil }
        return renderTable(
            ["PF", "VF", "ADDRESS", "DRIVER", "GROUP", "VGPU TYPE"] + (fw ? ["FIRMWARE CH/CE/BAR1"] : [])
                + ["GUEST", "OPEN BY"],
            rows.map {
                [
                    $0.pf, String($0.index), $0.address, $0.driver ?? "-", $0.iommuGroup.map(String.init) ?? "-",
                    $0.vgpuType ?? "-",
                ] + (fw ? [$0.engines?.text ?? "-"] : []) + [
                    $0.guest ?? "-",
                    $0.openBy.isEmpty ? "-" : $0.openBy.map { "\($0.pid) (\($0.command))" }.joined(separator: ", "),
                ]
            })
    }
}
