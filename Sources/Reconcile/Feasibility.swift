import Foundation
import HostKit
import Passthrough

/// Whether this host can carry out a plan's steps, checked before anything changes.
///
/// - VFIO hand-off needs the IOMMU on (the device, or for a VF that is still to come its PF, has
///   an `iommu_group`) and the VFIO driver it binds to loaded (`sys/bus/pci/drivers/<driver>`).
///   vgpuctl loads no module itself; when the driver is missing the reason says whether the
///   running kernel has it as a module (`lib/modules/<release>/modules.dep` under the root) so
///   'modprobe' is the fix, or not so the kernel must change. The running kernel's release is
///   `proc/sys/kernel/osrelease` under the root (a simulated or captured host says which kernel it
///   has by that file; on the real host it is the running kernel's own).
/// - VF steps need SR-IOV on the PF (`sriov_totalvfs`, which a kernel without CONFIG_PCI_IOV or a
///   hypervisor that hides the capability does not show).
/// - Type steps need a vGPU host interface; the planner refuses a rule with types the PF has no
///   backend for (mode: vgpu), so a planned type step always has one.
struct Feasibility {
    let sysfs: SysfsReader

    /// The reason, by step index, for each step that cannot be done.
    func check(_ steps: [Action], pf: PCIDevice) -> [Int: String] {
        var out: [Int: String] = [:]
        for (i, s) in steps.enumerated() {
            switch s {
            case .assignPassthrough(let a):
                if let r = vfio(a, pf: pf) { out[i] = r }
            case .enableVFs(let p, _, _), .disableVFs(let p, _):
                if !sysfs.exists(HostRoot.deviceFile(p, "sriov_totalvfs")) {
                    out[i] =
                        "\(p) shows no SR-IOV (no sriov_totalvfs: the kernel lacks CONFIG_PCI_IOV or the hypervisor hides the capability)"
                }
            case .releasePassthrough, .bindHostDriver, .clearType, .assignType:
                break
            }
        }
        return out
    }

    /// Why `a` cannot be handed to its VFIO driver, or nil.
    func vfio(_ a: PCIAddress, pf: PCIDevice) -> String? {
        let d = sysfs.device(a)
        let group = d.map(\.iommuGroup) ?? pf.iommuGroup  // a VF still to be created: its PF's
        guard group != nil else {
            return
                "the IOMMU is off: \(a) has no IOMMU group (no iommu_group link); enable it (intel_iommu=on or amd_iommu=on on the kernel command line, or a virtual IOMMU for a VM) and reboot"
        }
        let ids = d ?? pf
        let drv = PCIIDs.vfioDriver(vendor: ids.vendorID, device: ids.deviceID)
        if sysfs.exists(HostRoot.driver(drv.rawValue)) { return nil }
        let release = kernelRelease()
        guard let release else {
            return
                "the \(drv.rawValue) driver is not loaded and the running kernel's release is unknown (no proc/sys/kernel/osrelease); load it with 'modprobe \(drv.module)'"
        }
        if hasModule(drv.module, release: release) {
            return
                "the \(drv.rawValue) driver is not loaded; load it with 'modprobe \(drv.module)' (kernel \(release) has the module)"
        }
        return
            "the \(drv.rawValue) driver is not loaded and kernel \(release) has no \(drv.module) module (none in lib/modules/\(release)/modules.dep); boot a kernel built with it (CONFIG_VFIO_PCI)"
    }

    func kernelRelease() -> String? {
        let r = sysfs.text("proc/sys/kernel/osrelease")?.trimmingCharacters(in: .whitespacesAndNewlines)
        return (r?.isEmpty ?? true) ? nil : r
    }

    /// Whether `lib/modules/<release>/modules.dep` (or `modules.builtin`) lists `module`.
    func hasModule(_ module: String, release: String) -> Bool {
        let names = [module, module.replacingOccurrences(of: "-", with: "_")]
        for file in ["modules.dep", "modules.builtin"] {
            guard let text = sysfs.text("lib/modules/\(release)/\(file)") else { continue }
            for line in text.split(separator: "\n") {
                let path = line.split(separator: ":").first.map(String.init) ?? ""
                let base = (path as NSString).lastPathComponent
                if names.contains(where: { base == "\($0).ko" || base.hasPrefix("\($0).ko.") }) { return true }
            }
        }
        return false
    }
}
