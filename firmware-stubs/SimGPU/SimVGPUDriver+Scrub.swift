import Foundation
import HostKit
import VGPUTypes

/// Frame-buffer scrubbing in the simulated vGPU manager: when a VF's vGPU goes, its region of
/// the frame buffer still holds the tenant's data until the firmware scrubs it (GMC API
/// `SCRUB_GUEST_FB`, run by the stage-3 driver with the copy engine). Until then the VF is
/// *scrub pending*, and vgpuctl (VirtualFunctions' `FrameBufferScrubber`) refuses to give it a
/// type again, so no second tenant sees the first one's data. The pending list lives in the
/// driver's state file, so a crash between the removal and the scrub leaves the VF refused
/// until a scrub (`vgpuctl recover`) completes.
extension SimVGPUDriver {
    /// A released region not yet scrubbed.
    public struct PendingScrub: Codable, Sendable, Equatable {
        /// VF index whose vGPU left it.
        public var vf: Int
        /// The type the VF carried (for messages).
        public var typeName: String
        /// Region in the GPU's frame buffer, MiB.
        public var offsetMiB: Int
        public var sizeMiB: Int
    }

    /// One finished scrub.
    public struct ScrubResult: Sendable, Equatable {
        public var vf: Int
        public var typeName: String
        public var offsetMiB: Int
        public var sizeMiB: Int
        /// Bytes that held data and were overwritten with zeros.
        public var bytesZeroed: UInt64
    }

    /// Removes the vGPU of VF `vf` from `state`, recording each removed region as pending
    /// scrub (called by every path that destroys a vGPU).
    /// A region the driver cannot place (no catalog for the PF, an unknown type id) is an error:
    /// a guessed offset or size would scrub another VF's memory or nothing at all.
    package func release(vf: Int, pf: PCIAddress, sim: SimState, state: inout State) throws(SimVGPUError) {
        guard var rec = state.pfs[pf.description] else { return }
        var pending = rec.scrubPending ?? []
        for d in rec.devices where d.vf == vf {
            guard let c = context(pf, sim: sim, state: state), let t = c.type(d) else {
                throw SimVGPUError(
                    errno: .ioError,
                    message:
                        "the simulated driver cannot tell where VF \(vf) of \(pf) (type id \(d.typeID)) has its frame buffer, so it cannot scrub it"
                )
            }
            pending.append(
                PendingScrub(
                    vf: vf, typeName: t.name, offsetMiB: d.placement * c.gpu.unitMiB, sizeMiB: t.framebufferMiB))
        }
        rec.scrubPending = pending.isEmpty ? nil : pending
        rec.devices.removeAll { $0.vf == vf }
        state.pfs[pf.description] = rec
    }

    /// The regions of `pf` waiting for a scrub.
    public func pendingScrubs(pf: PCIAddress) throws -> [PendingScrub] {
        try load().pfs[pf.description]?.scrubPending ?? []
    }

    /// Scrubs the pending regions of `pf` (only VF `vf`'s when given): zeros each region in the
    /// PF's ``SimFrameBuffer``, then drops it from the pending list. `progress` gets (VF, bytes
    /// done, bytes of the region).
    public func scrub(pf: PCIAddress, vf: Int? = nil, progress: (Int, UInt64, UInt64) -> Void = { _, _, _ in }) throws
        -> [ScrubResult]
    {
        let fb = SimFrameBuffer(root: root, pf: pf)
        var results: [ScrubResult] = []
        for p in try pendingScrubs(pf: pf) where vf == nil || p.vf == vf {
            let mib: UInt64 = 1 << 20
            let zeroed = try fb.zero(offset: UInt64(p.offsetMiB) * mib, length: UInt64(p.sizeMiB) * mib) {
                progress(p.vf, $0, $1)
            }
            var s = try load()
            s.pfs[pf.description]?.scrubPending?.removeAll { $0 == p }
            if s.pfs[pf.description]?.scrubPending?.isEmpty == true { s.pfs[pf.description]?.scrubPending = nil }
            try save(s)
            results.append(
                ScrubResult(
                    vf: p.vf, typeName: p.typeName, offsetMiB: p.offsetMiB, sizeMiB: p.sizeMiB, bytesZeroed: zeroed))
        }
        return results
    }

    /// The frame-buffer region (MiB offset, MiB size) VF `vf` of `pf` has now, nil when it has
    /// no vGPU: where its guest's writes land.
    public func region(vf: Int, pf: PCIAddress) throws -> (offsetMiB: Int, sizeMiB: Int)? {
        let sim = try SimState.load(root)
        let s = try load()
        guard let d = s.pfs[pf.description]?.devices.first(where: { $0.vf == vf }),
            let c = context(pf, sim: sim, state: s), let t = c.type(d)
        else { return nil }
        return (d.placement * c.gpu.unitMiB, t.framebufferMiB)
    }
}
