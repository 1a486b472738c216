import Foundation
import HostKit

extension TypedVFBackend {
    /// Why VF `index` may not take a type now because its old region is unscrubbed, or nil.
    func scrubRefusal(_ r: VFRef) throws(VirtualFunctionsError) -> VirtualFunctionsError? {
        guard let s = scrubber, let p = try s.pending(pf: pf).first(where: { $0.vf == r.index }) else { return nil }
        return VirtualFunctionsError(
            .scrubPending, .failed,
            "\(r.address) (VF \(r.index) of \(pf)) cannot take a type: its frame buffer, \(p.description), has not been scrubbed since its vGPU was removed (an interrupted clear); run 'vgpuctl recover' to finish the scrub",
            cause: "scrub pending")
    }

    /// Scrubs what VF `r` left behind (after its vGPU was removed).
    func scrubAfterClear(_ r: VFRef) throws(VirtualFunctionsError) {
        guard let s = scrubber else { return }
        let reports = try s.scrub(pf: pf, vf: r.index, progress: scrubProgress)
        lastScrubs.append(contentsOf: reports)
    }
}
