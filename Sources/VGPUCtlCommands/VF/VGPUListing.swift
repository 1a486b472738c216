import Foundation
import HostKit
import Reconcile
import VGPUTypes
import VirtualFunctions

/// What `vf list` and `list` add about vGPUs: each VF's type (as its backend reads it), the guest
/// the applied host config gave it (`guests.json`), and per PF the free VF slots and what fits.
struct VGPUListing {
    /// VF -> vGPU type.
    var types: [PCIAddress: String] = [:]
    /// VF -> guest, as the last apply recorded.
    var guests: [PCIAddress: String] = [:]
    /// PF -> backend and the types it can still take.
    var pfs: [PCIAddress: PFInfo] = [:]

    struct PFInfo: Encodable {
        var backend: String
        /// VF slots nothing is given to: enabled VFs without a type or guest, plus VFs not enabled yet.
        var freeVFSlots: Int
        /// Types the GPU can still take, with how many more of each (empty for generic SR-IOV).
        var fits: [Fit]
        /// Why the types could not be read, when they could not.
        var problem: String?
    }

    struct Fit: Encodable {
        var type: String
        var available: Int
    }

    /// Reads every PF in `pfs` (SR-IOV PFs). Reading never changes the host; a PF whose backend
    /// cannot be read is listed with the reason instead of failing the listing.
    static func read(root: HostRoot, pfs: [PCIDevice], fits: Bool = true) throws -> VGPUListing {
        var out = VGPUListing()
        for (k, v) in try GuestAssignments.load(root).vfs { if let a = PCIAddress(k) { out.guests[a] = v } }
        let ctx = HostContextForReading(root: root)
        for p in pfs {
            guard let sr = p.sriov else { continue }
            let kind: VGPUBackendKind
            do { kind = try VGPUBackends.interfaceKind(root: root, pf: p.address) } catch {
                out.pfs[p.address] = PFInfo(
                    backend: "unknown", freeVFSlots: sr.totalVFs, fits: [], problem: error.message)
                continue
            }
            var info = PFInfo(backend: kind.rawValue, freeVFSlots: sr.totalVFs, fits: [], problem: nil)
            if kind != .generic && (fits || sr.numVFs > 0) {
                do {
                    let backend = try VGPUBackends.detect(
                        root: root, kernel: ctx.kernel, pf: p.address, channels: ctx.channels,
                        models: ctx.env.vgpuCatalogs)
                    if sr.numVFs > 0 {
                        for (vf, t) in try backend.assignedTypes(pf: p.address) { if let t { out.types[vf] = t } }
                    }
                    if fits {
                        info.fits = try backend.types(pf: p.address).filter { $0.available > 0 }.map {
                            Fit(type: $0.name, available: $0.available)
                        }
                    }
                } catch {
                    info.problem = error.message
                }
            }
            info.freeVFSlots = sr.totalVFs - sr.vfs.filter { out.types[$0] != nil || out.guests[$0] != nil }.count
            out.pfs[p.address] = info
        }
        return out
    }

    /// One line per PF for the table: free slots and what still fits.
    func summary(_ pf: PCIAddress) -> String? {
        guard let i = pfs[pf] else { return nil }
        if let p = i.problem { return "\(pf) (\(i.backend)): vGPU types not readable: \(p)" }
        let fits =
            i.backend == VGPUBackendKind.generic.rawValue
            ? "no vGPU types (generic SR-IOV)"
            : i.fits.isEmpty
                ? "no more vGPUs fit"
                : "still fits " + i.fits.map { "\($0.type) x\($0.available)" }.joined(separator: ", ")
        return "\(pf) (\(i.backend)): \(i.freeVFSlots) free VF slot\(i.freeVFSlots == 1 ? "" : "s"); \(fits)"
    }
}

/// The kernel and control channels a read needs (no writes are made through them).
struct HostContextForReading {
    let kernel: any Kernel
    let channels: ControlChannelFactory
    let env: HostEnvironment

    init(root: HostRoot) {
        let env = HostEnvironment(root: root)
        self.env = env
        kernel = SysfsKernel(root: root)
        channels = { (pf: PCIAddress) throws(VGPUError) -> (any VGPUControlChannel)? in
            ControlChannels.upstream(env: env, pf: pf)
        }
    }
}
