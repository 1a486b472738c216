import HostKit
import VGPUTypes

extension TypedVFBackend {
    /// Dry run of a reconciler plan on a copy of the book: nothing is written.
    public func checkPlan(
        pf p: PCIAddress, vfCount: Int, fresh: Bool, clearing: [Int], adding: [(vf: Int, type: String)]
    ) throws(VirtualFunctionsError) {
        try checkPF(p)
        var book: GPUBook
        if fresh {
            book = GPUBook(catalog: catalog, vfSlots: vfCount)
        } else {
            book = try view().book
            for i in clearing { book.release(vf: i) }
            let unscrubbed = try scrubber?.pending(pf: pf) ?? []
            if let p = unscrubbed.first(where: { u in adding.contains { $0.vf == u.vf } }) {
                throw .failed(
                    .scrubPending,
                    "\(pf): VF \(p.vf) cannot take a type: its frame buffer, \(p.description), has not been scrubbed since its vGPU was removed (an interrupted clear); run 'vgpuctl recover' to finish the scrub; nothing was changed"
                )
            }
        }
        var requests: [(type: VGPUCatalog.VGPUType, vf: Int)] = []
        for a in adding {
            guard let t = catalog.type(named: a.type) else {
                throw .invalid(.unknownType, "\(pf) (\(catalog.name)) has no vGPU type '\(a.type)'")
            }
            requests.append((t, a.vf))
        }
        do { _ = try book.placeAll(requests) } catch {
            throw .invalid(.capacity, "\(pf) cannot hold the config's vGPUs: \(error.message); nothing was changed")
        }
    }
}
