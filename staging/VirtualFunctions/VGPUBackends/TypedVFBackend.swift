import HostKit
import VGPUTypes

/// A backend with vGPU types (vendor sysfs, mdev, upstream): vgpuctl's book plans, the
/// interface's driver carries out, and the driver's view wins when they disagree.
///
/// Every change is checked against the book first (a refusal explains itself with numbers and
/// changes nothing), then against the driver's own creatable list where the interface has one,
/// then written, then read back.
public final class TypedVFBackend: VGPUBackend {
    public let root: HostRoot
    public let pf: PCIAddress
    public let catalog: VGPUCatalog
    public let profiles: VGPUProfiles
    public let interface: any VGPUInterface
    let store: VGPUBookStore
    var prepared = false
    /// Who scrubs a VF's frame buffer after its vGPU goes (nil: the driver does it unseen).
    public var scrubber: (any FrameBufferScrubber)?
    /// Told each step of a scrub.
    public var scrubProgress: (ScrubProgress) -> Void = { _ in }
    /// The scrubs this backend ran, oldest first.
    public internal(set) var lastScrubs: [ScrubReport] = []

    public init(
        root: HostRoot, pf: PCIAddress, catalog: VGPUCatalog, profiles: VGPUProfiles, interface: any VGPUInterface
    ) {
        self.root = root
        self.pf = pf
        self.catalog = catalog
        self.profiles = profiles
        self.interface = interface
        self.store = VGPUBookStore(root: root)
    }

    public var kind: VGPUBackendKind { interface.kind }
    var sysfs: SysfsReader { SysfsReader(root: root) }

    // MARK: The book as the host is now

    /// The book rebuilt from what the driver reports, with vgpuctl's recorded entries where they
    /// still match, and what each VF carries according to the driver.
    public struct View {
        public var book: GPUBook
        /// Driver assignments by VF index.
        public var assignments: [Int: DriverAssignment]
        /// VFs whose type the book cannot hold (not in the catalog, or colliding), by index.
        public var foreign: [Int: String]
        /// The PF's VFs in index order (empty when none are enabled).
        public var vfs: [PCIAddress]
    }

    /// Readies the interface (upstream: teaches the firmware the catalog's types). Only changes
    /// call it, so reading never changes the host.
    func prepare() throws(VirtualFunctionsError) {
        if !prepared {
            try interface.prepare(catalog)
            prepared = true
        }
    }

    public func view() throws(VirtualFunctionsError) -> View {
        guard let d = sysfs.device(pf), let sr = d.sriov else { throw .invalid(.noSRIOV, "\(pf) is not an SR-IOV PF") }
        var book = GPUBook(catalog: catalog, vfSlots: sr.numVFs > 0 ? sr.vfs.count : sr.totalVFs)
        let assignments = try interface.currentAll(
            sr.vfs.enumerated().map { VFRef(pf: pf, index: $0.offset, address: $0.element) })
        let recorded = Dictionary(
            try store.entries(pf: pf, catalog: catalog.name).map { ($0.vf, $0) }, uniquingKeysWith: { a, _ in a })
        var pending: [Int] = []
        for (i, a) in assignments.sorted(by: { $0.key < $1.key }) {
            if let r = recorded[i], r.type == a.typeName, a.placement == nil || a.placement == r.placement,
                a.channelOffset == nil || a.channelOffset == r.channels.offset, (try? book.restore(r)) != nil
            {
                continue
            }
            pending.append(i)
        }
        var foreign: [Int: String] = [:]
        for i in pending {
            guard let a = assignments[i] else { continue }
            guard let t = catalog.type(named: a.typeName) else {
                foreign[i] = a.typeName
                continue
            }
            if (try? book.place(t, vf: i, at: a.placement, channelsAt: a.channelOffset)) == nil
                && (try? book.place(t, vf: i)) == nil
            {
                foreign[i] = a.typeName
            }
        }
        return View(book: book, assignments: assignments, foreign: foreign, vfs: sr.vfs)
    }

    /// The VF reference of `vf`, which must be a VF of this backend's PF (invalid input otherwise).
    public func ref(_ vf: PCIAddress) throws(VirtualFunctionsError) -> VFRef {
        try Self.ref(vf, pf: pf, sysfs: sysfs)
    }

    static func ref(_ vf: PCIAddress, pf: PCIAddress, sysfs: SysfsReader) throws(VirtualFunctionsError) -> VFRef {
        guard let d = sysfs.device(vf) else {
            throw .invalid(
                .noSuchVF,
                "no PCI device \(vf) under \(sysfs.root.url(HostRoot.pciDevices)); 'vgpuctl vf list \(pf)' shows the VFs"
            )
        }
        guard let owner = d.physfn else {
            throw .invalid(.notAVF, "\(vf) is not a VF (it has no physfn); vGPU types go on the VFs of an SR-IOV PF")
        }
        guard owner == pf else { throw .invalid(.notAVF, "\(vf) is a VF of \(owner), not of \(pf)") }
        guard let i = sysfs.device(pf)?.sriov?.vfs.firstIndex(of: vf) else {
            throw .invalid(.noSuchVF, "\(vf) is not among the VFs \(pf) lists")
        }
        return VFRef(pf: pf, index: i, address: vf)
    }

    func checkPF(_ p: PCIAddress) throws(VirtualFunctionsError) {
        guard p == pf else { throw .invalid(.badRequest, "this backend serves \(pf), not \(p)") }
    }

    // MARK: VGPUBackend

    public func types(pf p: PCIAddress) throws(VirtualFunctionsError) -> [VGPUTypeAvailability] {
        try checkPF(p)
        let v = try view()
        return catalog.types.map {
            VGPUTypeAvailability(
                name: $0.name, framebufferMiB: $0.framebufferMiB, maxInstances: $0.maxInstances,
                available: v.book.available($0))
        }
    }

    /// The catalog's names: `types(pf:)` lists every catalog type whatever the driver reports,
    /// so the names need no read of the host.
    public func typeNames(pf p: PCIAddress) throws(VirtualFunctionsError) -> [String] {
        try checkPF(p)
        return catalog.types.map(\.name)
    }

    public func assignedTypes(pf p: PCIAddress) throws(VirtualFunctionsError) -> [(vf: PCIAddress, type: String?)] {
        try checkPF(p)
        let v = try view()
        return v.vfs.enumerated().map { ($0.element, v.assignments[$0.offset]?.typeName) }
    }

    public func assign(type name: String, vf: PCIAddress) throws(VirtualFunctionsError) {
        let r = try ref(vf)
        guard let gpu = sysfs.device(pf) else { throw .failed(.deviceGone, "\(pf) disappeared") }
        let (_, t) = try VirtualFunctionsError.wrapping(.unknownType) { try profiles.type(name, for: gpu) }
        var v = try view()
        if let cur = v.assignments[r.index] {
            if cur.typeName == name { return }
            throw .refused(.vfBusy, "\(vf) already carries \(cur.typeName); clear it first ('vgpuctl vf clear \(vf)')")
        }
        if let why = interface.unusable(r) { throw .failed(.unusable, why) }
        if let refusal = try scrubRefusal(r) { throw refusal }
        try prepare()
        let entry: GPUBook.Entry
        do { entry = try v.book.place(t, vf: r.index) } catch { throw Self.capacity(error, pf: pf) }
        try carryOut(t, r, entry, &v)
    }

    /// Creates `t` on the VF as planned, reads it back and records the book.
    func carryOut(_ t: VGPUCatalog.VGPUType, _ r: VFRef, _ entry: GPUBook.Entry, _ v: inout View)
        throws(VirtualFunctionsError)
    {
        if let offered = try interface.creatable(r), !offered.contains(t.name) {
            throw .failed(
                .driverDisagrees,
                "the driver does not offer \(t.name) on \(r.address) now (it offers \(offered.isEmpty ? "nothing" : offered.joined(separator: ", "))), although vgpuctl's book has room for it; the driver's view wins"
            )
        }
        try interface.create(t, on: r, entry: entry)
        guard let now = try interface.current(r), now.typeName == t.name else {
            throw .failed(
                .driverDisagrees,
                "after creating \(t.name) on \(r.address) the driver reports \((try? interface.current(r))?.typeName ?? "no vGPU") there"
            )
        }
        if (now.placement.map { $0 != entry.placement } ?? false)
            || (now.channelOffset.map { $0 != entry.channels.offset } ?? false)
        {
            v.book.release(vf: r.index)
            if (try? v.book.place(t, vf: r.index, at: now.placement, channelsAt: now.channelOffset)) == nil {
                _ = try? v.book.place(t, vf: r.index)
            }
        }
        try store.save(pf: pf, book: v.book)
    }

    public func clear(vf: PCIAddress) throws(VirtualFunctionsError) {
        let r = try ref(vf)
        var v = try view()
        guard let cur = v.assignments[r.index] else { return }
        try interface.destroy(r, current: cur)
        if let still = try interface.current(r) {
            throw .failed(
                .driverDisagrees, "after removing the vGPU of \(vf) the driver still reports \(still.typeName) there")
        }
        v.book.release(vf: r.index)
        try store.save(pf: pf, book: v.book)
        try scrubAfterClear(r)
    }

    /// A book refusal as an operator error (exit 1: the GPU cannot hold it), naming the GPU.
    static func capacity(_ e: BookRefusal, pf: PCIAddress) -> VirtualFunctionsError {
        let status: ExitStatus = e.kind == .vfBusy ? .refused : .failed
        return VirtualFunctionsError(
            .capacity, status, "\(pf): \(e.message)", cause: "book refusal: \(e.kind.rawValue)")
    }

    /// Processes holding the VF open: through the VF's own VFIO files, or through its mdev
    /// device's IOMMU group.
    public func holders(_ vf: PCIAddress) throws(VirtualFunctionsError) -> [VFIOHolder] {
        let r = try ref(vf)
        var files = sysfs.vfioFiles(vf)
        if let uuid = try interface.current(r)?.mdevUUID,
            let g = sysfs.linkName("sys/bus/mdev/devices/\(uuid)/iommu_group")
        {
            files.append("/dev/vfio/\(g)")
        }
        return sysfs.holders(of: files)
    }

    /// How to give the VF to a VM; refused while the firmware's report of the VF disagrees with
    /// the book or the VF's BAR1 (``checkEngines(_:)``).
    public func handoff(_ vf: PCIAddress) throws(VirtualFunctionsError) -> Handoff {
        let r = try ref(vf)
        try checkEngines(r)
        return interface.handoff(r, current: try interface.current(r))
    }
}
