import Foundation
import HostKit

/// A VF that carries a vGPU, as sysfs shows it, and how it goes to a VM without being rebound
/// (`reference/kernel-abi.md` §5).
///
/// - NVIDIA's vendor-specific VFIO (vGPU 17+): the VF stays bound to `nvidia`, which is its VFIO
///   driver; `nvidia/current_vgpu_type` reads the type id (0: none). Binding it to vfio-pci fails
///   (EINVAL) and unbinding it from `nvidia` destroys the vGPU.
/// - mdev (vGPU <= 16): the VF, bound to `nvidia`, is an mdev parent
///   (`sys/class/mdev_bus/<VF>/mdev_supported_types/<type>/devices/<uuid>`); the mdev goes to
///   the VM, the VF stays where it is.
///
/// VFs typed through the upstream control channel show nothing in sysfs: they are handed over
/// through their VFIO driver like any other VF.
public enum TypedVF: Sendable, Equatable {
    /// Vendor VFIO: the VF itself, with the driver's type id.
    case vendor(typeID: Int)
    /// An mdev on the VF: its UUID and type directory (`nvidia-<id>`).
    case mdev(uuid: String, typeDirectory: String)

    /// What `d` carries; nil for anything that is not a typed NVIDIA VF.
    public static func read(_ d: PCIDevice, _ sysfs: SysfsReader) -> TypedVF? {
        guard d.physfn != nil, d.driver == "nvidia" else { return nil }
        let a = d.address
        if let text = sysfs.text(HostRoot.deviceFile(a, "nvidia/current_vgpu_type")),
            let id = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)), id != 0
        {
            return .vendor(typeID: id)
        }
        let types = "\(HostRoot.mdevBus)/\(a)/mdev_supported_types"
        for t in sysfs.list(types).sorted() {
            if let uuid = sysfs.list("\(types)/\(t)/devices").sorted().first {
                return .mdev(uuid: uuid, typeDirectory: t)
            }
        }
        return nil
    }

    /// How to hand it over, for messages.
    public func handoffAdvice(_ vf: PCIAddress) -> String {
        switch self {
        case .vendor:
            "it stays bound to nvidia, its VFIO driver: hand it to the VM as it is with 'vgpuctl qemu args \(vf)' (-device vfio-pci,host=\(vf)) or 'vgpuctl libvirt xml \(vf)' (<hostdev managed='no'>)"
        case .mdev(let uuid, _):
            "its vGPU is mdev \(uuid): hand that to the VM with 'vgpuctl qemu args \(vf)' (sysfsdev=/sys/bus/mdev/devices/\(uuid)) or 'vgpuctl libvirt xml \(vf)' (<hostdev type='mdev'>)"
        }
    }
}
