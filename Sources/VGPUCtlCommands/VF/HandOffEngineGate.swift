import HostKit
import Hypervisor
import VirtualFunctions

/// Stage 3's hand-off gate: a typed VF goes to a guest (`passthrough assign`, `qemu args`,
/// `libvirt xml`, the libvirt hook's prepare) only while the firmware's report of its channels,
/// copy engines and BAR1 window agrees with the book and the VF's BAR1
/// (``TypedVFBackend/handoff(_:)``; exit 1 otherwise, every problem named). Whole GPUs, untyped
/// VFs and PFs whose vGPU backend cannot be read have no report to check.
enum HandOffEngineGate {
    static func check(_ addresses: [PCIAddress], _ ctx: HostContext) throws {
        var backends: [PCIAddress: TypedVFBackend?] = [:]
        for a in addresses {
            guard let pf = ctx.sysfs.device(a)?.physfn else { continue }
            let typed: TypedVFBackend?
            if let known = backends[pf] {
                typed = known
            } else {
                typed = (try? ctx.vgpuBackend(pf)) as? TypedVFBackend
                backends[pf] = typed
            }
            guard let typed else { continue }
            _ = try typed.handoff(a)
        }
    }

    /// The VFs among `devices` (a typed VF's own address for a vendor or mdev hand-off).
    static func addresses(_ devices: [AssignedDevice]) -> [PCIAddress] {
        devices.compactMap { $0.vgpu?.vf ?? $0.address }
    }
}
