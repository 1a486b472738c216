import Foundation
import HostKit
import SimGPU

/// What a simulated host shows about its vGPU interface before any VF exists, so vgpuctl can
/// tell the interfaces apart as it does on a real host (see VGPUBackends in VirtualFunctions):
/// NVIDIA's vGPU host module (`sys/module/nvidia_vgpu_vfio`), plus the mdev bus for an mdev
/// host; a fwctl device per NVIDIA SR-IOV GPU (`sys/class/fwctl/fwctlN/device` -> the PF,
/// `dev/fwctl/fwctlN`) for the upstream interface.
enum SimVGPUHost {
    static func writeEvidence(_ iface: SimVGPUInterface, fs: SimFS, state: SimState) throws {
        switch iface {
        case .none:
            return
        case .vendor:
            try fs.write("sys/module/nvidia_vgpu_vfio/refcnt", "0\n")
        case .mdev:
            try fs.write("sys/module/nvidia_vgpu_vfio/refcnt", "0\n")
            try fs.write("sys/module/mdev/refcnt", "1\n")
            try fs.mkdir("sys/bus/mdev/devices")
            try fs.mkdir(HostRoot.mdevBus)
        case .upstream:
            let sysfs = SysfsReader(root: fs.root)
            let gpus = state.pfs.keys.compactMap(PCIAddress.init).sorted().filter {
                sysfs.device($0)?.vendorID == 0x10de
            }
            for (n, pf) in gpus.enumerated() {
                guard let dir = sysfs.device(pf)?.canonicalPath else { continue }
                // Major 234 assumed (fwctl's char major is dynamic).
                try fs.write("\(HostRoot.fwctlClass)/fwctl\(n)/dev", "234:\(n)\n")
                try fs.link("\(HostRoot.fwctlClass)/fwctl\(n)/device", to: dir)
                try fs.write("dev/fwctl/fwctl\(n)", "")
            }
        }
    }
}
