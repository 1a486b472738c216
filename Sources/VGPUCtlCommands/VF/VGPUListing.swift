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
    /// VF -> what the firmware reports about its engines and BAR1, checked (typed VFs of
    /// interfaces that report them).
    var engines: [PCIAddress: VFEngines] = [:]

    /// One VF's firmware report beside the book's entry and the VF's BAR1.
    struct VFEngines: Encodable {
        /// As the firmware reports them (null: not reported).
        var channels: GPUBook.Span?
        var copyEngines: [Int]?
        var bar1: BAR1Window?
        /// The VF's BAR1 as its sysfs `resource` shows it (null: none).
        var vfBar1: BAR1Window?
        /// What the book's entry promises (null: the book holds no entry of the VF's type).
        var book: Book?
        /// Where the report disagrees with the book or the BARs.
        var problems: [String]

        struct Book: Encodable {
            var channels: GPUBook.Span
            var copyEngines: [Int]
        }

        enum CodingKeys: String, CodingKey { case channels, copyEngines, bar1, vfBar1, book, problems }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(channels, forKey: .channels)  // null when not reported
            try c.encode(copyEngines, forKey: .copyEngines)
            try c.encode(bar1, forKey: .bar1)
            try c.encode(vfBar1, forKey: .vfBar1)
            try c.encode(book, forKey: .book)
            try c.encode(problems, forKey: .problems)
        }

        /// "512/1/4 GiB" (channels, copy engines, BAR1 as reported; "?" not reported), with
        /// " !" when there are problems.
        var text: String {
            let parts = [
                channels.map { String($0.count) } ?? "?", copyEngines.map { String($0.count) } ?? "?",
                bar1.map { byteText($0.size) } ?? "?",
            ]
            return parts.joined(separator: "/") + (problems.isEmpty ? "" : " !")
        }
    }

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
    /// `engines`: also read and check what the firmware reports about each typed VF's engines.
    static func read(root: HostRoot, pfs: [PCIDevice], fits: Bool = true, engines: Bool = true) throws -> VGPUListing {
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
                    if sr.numVFs > 0, let typed = backend as? TypedVFBackend {
                        // One read of the driver for the types and the engine report.
                        let v = try typed.view()
                        for (i, vf) in v.vfs.enumerated() { if let a = v.assignments[i] { out.types[vf] = a.typeName } }
                        if engines { try out.readEngines(typed, v) }
                    } else if sr.numVFs > 0 {
                        for (vf, t) in try backend.assignedTypes(pf: p.address) { if let t { out.types[vf] = t } }
                    }
                    if fits {
                        info.fits = try backend.types(pf: p.address).filter { $0.available > 0 }.map {
                            Fit(type: $0.name, available: $0.available)
                        }
                    }
                } catch {
                    info.problem = ErrorChain.message(error)
                }
            }
            info.freeVFSlots = sr.totalVFs - sr.vfs.filter { out.types[$0] != nil || out.guests[$0] != nil }.count
            out.pfs[p.address] = info
        }
        return out
    }

    /// The firmware's report of each typed VF of `typed`'s PF, checked.
    mutating func readEngines(_ typed: TypedVFBackend, _ v: TypedVFBackend.View) throws(VirtualFunctionsError) {
        let report = try typed.engineReport(v)
        for (i, vf) in v.vfs.enumerated() {
            guard let f = report.reports[i] else { continue }
            let e = v.book.entry(vf: i).flatMap { $0.type == f.type ? $0 : nil }
            engines[vf] = VFEngines(
                channels: f.channels, copyEngines: f.copyEngines, bar1: f.bar1,
                vfBar1: report.vfBAR1[i].map { BAR1Window(address: $0.start, size: $0.size) },
                book: e.map { VFEngines.Book(channels: $0.channels, copyEngines: $0.copyEngines) },
                problems: report.problems(vf: i).map(\.message))
        }
    }

    /// Every problem of the listed VFs, once each (an overlap names two VFs).
    var engineProblems: [String] {
        var seen = Set<String>()
        return engines.sorted { $0.key < $1.key }.flatMap(\.value.problems).filter { seen.insert($0).inserted }
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
        channels = { (pf: PCIAddress) throws(VirtualFunctionsError) -> (any VGPUControlChannel)? in
            ControlChannels.upstream(env: env, pf: pf)
        }
    }
}
