import HostKit

extension TypedVFBackend {
    /// The firmware's report of every typed VF of the PF, the VFs' BAR1 as sysfs shows them,
    /// and what disagrees with the book or the BARs.
    public struct EngineReport: Sendable {
        /// By VF index; only VFs whose firmware reported something.
        public var reports: [Int: VFFirmwareReport]
        /// Each VF's BAR1 (sysfs `resource` line 1), by VF index.
        public var vfBAR1: [Int: SysfsParse.Resource]
        public var problems: [VFResourceProblem]

        /// The problems that concern VF `vf`.
        public func problems(vf: Int) -> [VFResourceProblem] { problems.filter { $0.vfs.contains(vf) } }
    }

    /// Reads the firmware's report of each VF (the upstream interface reports channels, copy
    /// engines and BAR1 windows; the others report nothing) and checks it (``EngineCheck``).
    public func engineReport() throws(VirtualFunctionsError) -> EngineReport {
        try engineReport(try view())
    }

    public func engineReport(_ v: View) throws(VirtualFunctionsError) -> EngineReport {
        var reports: [Int: VFFirmwareReport] = [:]
        for (i, a) in v.assignments { if let f = a.firmware { reports[i] = f } }
        var bars: [Int: SysfsParse.Resource] = [:]
        var addresses: [Int: PCIAddress] = [:]
        for (i, vf) in v.vfs.enumerated() {
            addresses[i] = vf
            let rs = sysfs.resources(vf)
            if rs.count > 1, rs[1].size > 0 { bars[i] = rs[1] }
        }
        return EngineReport(
            reports: reports, vfBAR1: bars,
            problems: EngineCheck.problems(book: v.book, reports: reports, addresses: addresses, vfBAR1: bars))
    }

    /// Refuses to hand VF `r` on while the firmware's report of it disagrees with the book or
    /// its BAR (exit 1, every problem named).
    func checkEngines(_ r: VFRef) throws(VirtualFunctionsError) {
        let report = try engineReport()
        let found = report.problems(vf: r.index)
        guard !found.isEmpty else { return }
        let type = report.reports[r.index].map { " carries \($0.type) but" } ?? ""
        throw VirtualFunctionsError(
            .engineReport, .failed,
            "\(r.address)\(type) is not handed on: \(found.map(\.message).joined(separator: "; ")); the firmware does not give the VF what its type needs (clear it with 'vgpuctl vf clear \(r.address)' and check the GPU's firmware)",
            cause: "engine check: \(found.map(\.kind.rawValue).joined(separator: ", "))")
    }
}
