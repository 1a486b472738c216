import Foundation
import HostKit
import Passthrough

/// Turns the device names an operator gives (`0000:01:00.0`, an mdev UUID) into
/// ``AssignedDevice``s, checking that each is assigned to its VFIO driver, or, with `plan`,
/// working out what `passthrough assign` would do (PassthroughManager.plan; nothing changes).
public struct DeviceResolver {
    public let root: HostRoot
    public let sysfs: SysfsReader

    /// Where mdevs live (`sys/bus/mdev/devices/<uuid>`), relative to the root.
    public static let mdevDevices = "sys/bus/mdev/devices"

    public init(root: HostRoot) {
        self.root = root
        self.sysfs = SysfsReader(root: root)
    }

    /// Whether `text` is an mdev UUID (8-4-4-4-12 hex digits).
    public static func isUUID(_ text: String) -> Bool {
        let groups = text.split(separator: "-", omittingEmptySubsequences: false)
        return groups.map(\.count) == [8, 4, 4, 4, 12] && groups.allSatisfy { $0.allSatisfy(\.isHexDigit) }
    }

    /// Resolves every name; exit 2 for a malformed or unknown name, a repeated one or an
    /// unassigned device (without `plan`); exit 4 when the plan would take a device from a host
    /// driver in the same IOMMU group (without `includeGroup`).
    public func resolve(_ names: [String], plan: Bool, includeGroup: Bool = false) throws(HypervisorError)
        -> [AssignedDevice]
    {
        guard !names.isEmpty else {
            throw .invalid(
                .badDevice,
                "name at least one device (a PCI address such as 0000:01:00.0, or an mdev UUID), or a guest with --guest NAME"
            )
        }
        var seen: Set<String> = []
        var out: [AssignedDevice] = []
        for n in names {
            let d: AssignedDevice
            if Self.isUUID(n) {
                d = try mdev(n.lowercased())
            } else if let a = PCIAddress(n) {
                d = try pci(a, plan: plan, includeGroup: includeGroup)
            } else {
                throw .invalid(
                    .badDevice, "'\(n)' is neither a PCI address (DDDD:BB:DD.F, e.g. 0000:01:00.0) nor an mdev UUID")
            }
            guard seen.insert(d.name).inserted else { throw .invalid(.badDevice, "\(d.name) is named twice") }
            out.append(d)
        }
        // A function named on its own is not also a companion of another.
        let named = Set(out.compactMap(\.address))
        for i in out.indices { out[i].companions.removeAll { named.contains($0) } }
        return out
    }

    /// Whether `d` is bound to the VFIO driver a guest can use: its own (nvgrace for Grace GPUs)
    /// or, for anything else, any VFIO driver (vfio-pci, NVIDIA's vendor VFIO driver).
    public static func isReady(_ d: PCIDevice) -> Bool {
        let want = PCIIDs.vfioDriver(vendor: d.vendorID, device: d.deviceID).rawValue
        guard let drv = d.driver else { return false }
        return drv == want || (!d.isGrace && PassthroughManager.vfioDrivers.contains(drv))
    }

    func pci(_ a: PCIAddress, plan: Bool, includeGroup: Bool) throws(HypervisorError) -> AssignedDevice {
        guard let d = sysfs.device(a) else {
            throw .invalid(
                .badDevice,
                "no PCI device \(a) under \(root.url(HostRoot.pciDevices)); run 'vgpuctl list --all' to see the addresses"
            )
        }
        if d.isBridge { throw .invalid(.badDevice, "\(a) is a PCI bridge; bridges are not handed to guests") }
        // A VF with a vGPU goes as it is: vendor VFIO through its own driver, mdev as its mdev.
        switch TypedVF.read(d, sysfs) {
        case .vendor(let id)?:
            var out = AssignedDevice(
                source: .pci(a), vendorID: d.vendorID, deviceID: d.deviceID, vfioDriver: d.driver ?? "nvidia")
            out.vgpu = (a, .vendor(typeID: id))
            return out
        case .mdev(let uuid, let type)?:
            var out = try mdev(uuid)
            out.vgpu = (a, .mdev(uuid: uuid, typeDirectory: type))
            return out
        case nil:
            if d.physfn != nil && d.driver == "nvidia"
                && (sysfs.exists(HostRoot.deviceFile(a, "nvidia/current_vgpu_type"))
                    || sysfs.exists("\(HostRoot.mdevBus)/\(a)"))
            {
                throw .invalid(
                    .badDevice,
                    "\(a) is a VF bound to nvidia without a vGPU; give it a type first ('vgpuctl vf assign \(a) --type T', or a host config with 'vgpuctl apply'): NVIDIA's vGPU VFs are handed over with their type, not rebound"
                )
            }
        }
        let target = PCIIDs.vfioDriver(vendor: d.vendorID, device: d.deviceID).rawValue
        var steps: [PassthroughManager.Step] = []
        if !Self.isReady(d) {
            guard plan else {
                throw .invalid(
                    .notAssigned,
                    "\(a) is not assigned (it is \(d.driver.map { "bound to \($0)" } ?? "unbound")); run 'vgpuctl passthrough assign \(a)' first, or pass --plan to see what that would do"
                )
            }
            steps = try HypervisorError.wrapping(.notAssigned) {
                try PassthroughManager(root: root, kernel: SysfsKernel(root: root)).plan(a, includeGroup: includeGroup)
            }.steps
        }
        var companions = Set(steps.filter { $0.reason == "companion" }.map(\.address))
        if let g = d.iommuGroup {
            for m in sysfs.iommuGroupMembers(g)
            where m != a && m.domain == a.domain && m.bus == a.bus && m.device == a.device {
                guard let md = sysfs.device(m), !md.isVF, !md.isBridge, let drv = md.driver,
                    PassthroughManager.vfioDrivers.contains(drv)
                else { continue }
                companions.insert(m)
            }
        }
        // The region's device as the host sees it (under the root), for QEMU's mem-path.
        let egm =
            d.isGrace
            ? Inventory.egmRegions(sysfs).first { $0.gpus.contains(a.description) }.map { r in
                var r = r
                r.device = root.url("dev/egm\(r.pxm)")
                return r
            } : nil
        return AssignedDevice(
            source: .pci(a), vendorID: d.vendorID, deviceID: d.deviceID, grace: d.isGrace,
            vfioDriver: Self.isReady(d) ? (d.driver ?? target) : target,
            companions: companions.sorted(), pendingSteps: steps, egm: egm)
    }

    func mdev(_ uuid: String) throws(HypervisorError) -> AssignedDevice {
        let rel = "\(Self.mdevDevices)/\(uuid)"
        guard sysfs.exists(rel) else {
            throw .invalid(
                .badDevice,
                "no mdev \(uuid) under \(root.url(Self.mdevDevices)); create it first (mdevctl start, or the vGPU commands of vgpuctl)"
            )
        }
        let type = sysfs.linkName(rel + "/mdev_type")
        let parent = sysfs.link(rel).flatMap { target -> PCIAddress? in
            let parts = target.split(separator: "/")
            return parts.count >= 2 ? PCIAddress(String(parts[parts.count - 2])) : nil
        }
        return AssignedDevice(source: .mdev(uuid: uuid, sysfsPath: root.url(rel), type: type, parent: parent))
    }
}
