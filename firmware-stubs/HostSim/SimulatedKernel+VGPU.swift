import Foundation
import HostKit
import SimGPU
import SystemPackage
import VGPUTypes

/// NVIDIA's vGPU driver on a simulated host: the writes to `nvidia/current_vgpu_type` and to
/// mdev `create`/`remove`, and the files that appear when a VF binds to `nvidia`.
///
/// Errnos (assumed where NVIDIA's closed driver decides): a value the kernel cannot parse
/// EINVAL; a type that is not creatable on the VF now EINVAL; a second type on a VF EBUSY; an
/// mdev UUID already in use EEXIST (the mdev core).
extension SimulatedKernel {
    var vgpuDriver: SimVGPUDriver { SimVGPUDriver(root: root) }

    func vgpuInterface(_ state: SimState) -> SimVGPUInterface {
        state.vgpuInterface.flatMap(SimVGPUInterface.init(rawValue:)) ?? .none
    }

    /// The PF and VF index of a VF.
    func vfPosition(_ vf: PCIAddress) -> (pf: PCIAddress, index: Int)? {
        guard let pf = sysfs.device(vf)?.physfn, let i = sysfs.device(pf)?.sriov?.vfs.firstIndex(of: vf) else {
            return nil
        }
        return (pf, i)
    }

    /// What a write to `current_vgpu_type` or mdev `create`/`remove` does: the driver's new
    /// book, the device files, and the VF files rendered from the book.
    func decideVGPU(_ file: ControlFile, _ v: String, state: SimState) throws -> [SimEffect] {
        var st = try vgpuDriver.load()
        switch file {
        case .currentVGPUType(let vf):
            guard let (pf, i) = vfPosition(vf), let n = UInt32(v) else { throw Errno.invalidArgument }
            if n == 0 {
                try vgpuDriver.release(vf: i, pf: pf, sim: state, state: &st)
            } else {
                if st.pfs[pf.description]?.devices.contains(where: { $0.vf == i }) == true { throw Errno.resourceBusy }
                let wanted = VendorFiles.number(fs.read(HostRoot.deviceFile(vf, "nvidia/placement_id")))
                if case .failure(let e) = vgpuDriver.add(
                    typeID: Int(n), vf: i, pf: pf, sim: state, state: &st, placement: wanted)
                {
                    throw e.errno
                }
            }
            return [.vgpuBook(st), .renderVGPU(pf)]
        case .mdevCreate(let parent, let typeDir):
            let uuid = v.lowercased()
            guard let (pf, i) = vfPosition(parent), Self.isUUID(uuid), typeDir.hasPrefix("nvidia-"),
                let id = Int(typeDir.dropFirst(7))
            else { throw Errno.invalidArgument }
            if st.pfs.values.contains(where: { $0.devices.contains { $0.mdevUUID == uuid } }) { throw Errno.fileExists }
            if case .failure(let e) = vgpuDriver.add(typeID: id, vf: i, pf: pf, sim: state, state: &st) {
                throw e.errno
            }
            let group = lowestFreeGroup(from: state.firstDynamicGroup)
            if let k = st.pfs[pf.description]?.devices.firstIndex(where: { $0.vf == i }) {
                st.pfs[pf.description]?.devices[k].mdevUUID = uuid
                st.pfs[pf.description]?.devices[k].mdevGroup = group
            }
            return [
                .createMdev(uuid: uuid, parent: parent, typeDir: typeDir, group: group), .vgpuBook(st), .renderVGPU(pf),
            ]
        case .mdevRemove(let uuid):
            guard Self.kstrtobool(v) == true else { throw Errno.invalidArgument }
            guard let (pfText, rec) = st.pfs.first(where: { $0.value.devices.contains { $0.mdevUUID == uuid } }),
                let pf = PCIAddress(pfText), let d = rec.devices.first(where: { $0.mdevUUID == uuid })
            else { throw Errno.noSuchDevice }
            try vgpuDriver.release(vf: d.vf, pf: pf, sim: state, state: &st)
            return [.removeMdev(d), .vgpuBook(st), .renderVGPU(pf)]
        default:
            throw Errno.invalidArgument
        }
    }

    static func isUUID(_ s: String) -> Bool {
        let parts = s.split(separator: "-", omittingEmptySubsequences: false)
        return parts.map(\.count) == [8, 4, 4, 4, 12] && parts.allSatisfy { $0.allSatisfy(\.isHexDigit) }
    }

    // MARK: Binding hooks

    /// On a vendor-VFIO host, vfio-pci's probe of an NVIDIA VF fails with EINVAL, as on a real
    /// host (`reference/kernel-abi.md` §5b): `bind` returns it, `drivers_probe` leaves the VF
    /// unbound (the driver core ignores probe errors there).
    func refusesVFIO(_ dev: PCIDevice, driver: String, state: SimState) -> Bool {
        driver == "vfio-pci" && vgpuInterface(state) == .vendor && dev.physfn != nil && dev.vendorID == 0x10de
    }

    /// Called when `a` has been bound to `driver`: a VF of a vendor/mdev host that binds to
    /// `nvidia` gets its vGPU files (and, on a vendor host, its VFIO device: `nvidia` is the
    /// VF's VFIO driver).
    func vgpuAttached(_ a: PCIAddress, driver: String, state: SimState) throws {
        let iface = vgpuInterface(state)
        guard driver == "nvidia", iface == .vendor || iface == .mdev, let (pf, _) = vfPosition(a),
            let dev = sysfs.device(a), let dir = dev.canonicalPath
        else { return }
        if iface == .vendor, let g = dev.iommuGroup { try ensureVFIODevice(dir: dir, group: g) }
        try renderVGPU(pf: pf, state: state, only: a)
    }

    /// Called before `a` is unbound from `driver`: its vGPU goes (the driver destroys it), and
    /// so do its vGPU files.
    func vgpuDetaching(_ a: PCIAddress, driver: String, dir: String, group: Int?, state: SimState) throws {
        let iface = vgpuInterface(state)
        guard driver == "nvidia", iface == .vendor || iface == .mdev, let (pf, i) = vfPosition(a) else { return }
        var st = try vgpuDriver.load()
        let mine = st.pfs[pf.description]?.devices.filter { $0.vf == i } ?? []
        for d in mine { try removeMdevDevice(d) }
        try vgpuDriver.release(vf: i, pf: pf, sim: state, state: &st)
        try vgpuDriver.save(st)
        // The driver scrubs the region itself when it tears a VF's vGPU down with the VF.
        _ = try vgpuDriver.scrub(pf: pf, vf: i)
        try fs.remove("\(dir)/nvidia")
        try fs.remove("\(dir)/mdev_supported_types")
        try fs.remove("\(HostRoot.mdevBus)/\(a)")
        if iface == .vendor {
            for n in fs.list("\(dir)/vfio-dev") { try fs.remove("dev/vfio/devices/\(n)") }
            try fs.remove("\(dir)/vfio-dev")
            if let g = group, sysfs.iommuGroupMembers(g) == [a] { try fs.remove("\(HostRoot.vfioDev)/\(g)") }
        }
        if !mine.isEmpty { try renderVGPU(pf: pf, state: state, except: a) }
    }
}
