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

    enum CodingKeys: String, CodingKey { case index, address, pf, driver, iommuGroup, openBy, vgpuType, guest }
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
    }

    static func rows(pf: PCIAddress, _ sysfs: SysfsReader, vgpu: VGPUListing? = nil) -> [VFRow] {
        (sysfs.device(pf)?.sriov?.vfs ?? []).enumerated().map { i, vf in
            let d = sysfs.device(vf)
            return VFRow(
                index: i, address: vf.description, pf: pf.description, driver: d?.driver,
                iommuGroup: d?.iommuGroup, openBy: sysfs.vfioHolders(vf), vgpuType: vgpu?.types[vf],
                guest: vgpu?.guests[vf])
        }
    }

    static func table(_ rows: [VFRow]) -> String {
        renderTable(
            ["PF", "VF", "ADDRESS", "DRIVER", "GROUP", "VGPU TYPE", "GUEST", "OPEN BY"],
            rows.map {
                [
                    $0.pf, String($0.index), $0.address, $0.driver ?? "-", $0.iommuGroup.map(String.init) ?? "-",
                    $0.vgpuType ?? "-", $0.guest ?? "-",
                    $0.openBy.isEmpty ? "-" : $0.openBy.map { "\($0.pid) (\($0.command))" }.joined(separator: ", "),
                ]
            })
    }
}
