import VGPUTypes

/// The manager's book of one GPU: which VF carries which vGPU type, and the frame buffer,
/// channels and copy engines each one was given.
///
/// Resources, all from the GPU's ``VGPUCatalog``:
/// - frame buffer: `placementUnits` equal units over the usable frame buffer (total minus the
///   reservations); an instance takes `placementSize` contiguous units at one of its type's
///   placements (aligned to its size; GPU-instance placements for MIG-backed types);
/// - channels: a pool from which each VF gets a contiguous range of its type's channel count,
///   aligned to that count;
/// - copy engines: time-sliced VFs share the GPU's engines; a MIG-backed VF gets its GPU
///   instance's engines exclusively;
/// - VF slots: one vGPU per VF; MIG compute slices; NVIDIA's maximum instances per type.
///
/// Modes: a GPU holds either MIG-backed or time-sliced vGPUs. Time-sliced vGPUs of different
/// frame-buffer sizes share a GPU only when the catalog allows heterogeneous mode; otherwise
/// the GPU is homogeneous (one size). Allocation is deterministic: the lowest free placement,
/// the lowest free aligned channel range, the lowest free copy engines. Every refusal is a
/// ``BookRefusal`` that explains itself with numbers; a refused request changes nothing.
public struct GPUBook: Sendable, Equatable {
    public let catalog: VGPUCatalog
    /// VF slots the book may use (0..<vfSlots).
    public let vfSlots: Int
    /// What each VF carries, in VF index order.
    public private(set) var entries: [Entry] = []

    /// One VF's vGPU and its resources.
    public struct Entry: Sendable, Equatable, Codable {
        /// VF index (0 for `virtfn0`).
        public var vf: Int
        public var type: String
        /// First placement unit.
        public var placement: Int
        /// Placement units taken.
        public var units: Int
        /// Frame buffer, MiB offset and size.
        public var framebuffer: Span
        /// Channel ids.
        public var channels: Span
        /// Copy engine indices (shared for time-sliced types, exclusive for MIG-backed ones).
        public var copyEngines: [Int]
        /// MIG compute slices (0 for time-sliced types).
        public var computeSlices: Int

        public init(
            vf: Int, type: String, placement: Int, units: Int, framebuffer: Span, channels: Span,
            copyEngines: [Int], computeSlices: Int
        ) {
            self.vf = vf
            self.type = type
            self.placement = placement
            self.units = units
            self.framebuffer = framebuffer
            self.channels = channels
            self.copyEngines = copyEngines
            self.computeSlices = computeSlices
        }

        /// Placement units `placement..<placement+units`.
        public var unitRange: Range<Int> { placement..<(placement + units) }
        public var isMIG: Bool { computeSlices > 0 }
    }

    /// A contiguous range: `offset..<offset+count`.
    public struct Span: Sendable, Equatable, Codable, CustomStringConvertible {
        public var offset: Int
        public var count: Int
        public init(offset: Int, count: Int) {
            self.offset = offset
            self.count = count
        }
        public var end: Int { offset + count }
        public var range: Range<Int> { offset..<end }
        public func overlaps(_ o: Span) -> Bool { offset < o.end && o.offset < end }
        public var description: String { "\(offset)..<\(end)" }
    }

    /// The GPU's mode, as its vGPUs make it.
    public enum Mode: Sendable, Equatable, CustomStringConvertible {
        case empty
        /// Time-sliced vGPUs, all of one frame-buffer size.
        case homogeneous(framebufferMiB: Int)
        /// Time-sliced vGPUs of different sizes.
        case heterogeneous
        /// MIG-backed vGPUs.
        case mig

        public var description: String {
            switch self {
            case .empty: "empty"
            case .homogeneous(let mib): "homogeneous (\(mib) MiB)"
            case .heterogeneous: "heterogeneous"
            case .mig: "MIG"
            }
        }
    }

    /// An empty book for a GPU of `catalog` with `vfSlots` usable VFs (capped by the catalog's).
    public init(catalog: VGPUCatalog, vfSlots: Int? = nil) {
        self.catalog = catalog
        self.vfSlots = min(vfSlots ?? catalog.gpu.vfSlots, catalog.gpu.vfSlots)
    }

    public var gpu: VGPUCatalog.GPU { catalog.gpu }

    /// The entry of VF `vf`, if it carries a vGPU.
    public func entry(vf: Int) -> Entry? { entries.first { $0.vf == vf } }

    /// How many instances of `type` the GPU holds.
    public func count(of type: String) -> Int { entries.filter { $0.type == type }.count }

    public var mode: Mode {
        guard let first = entries.first else { return .empty }
        if first.isMIG { return .mig }
        let sizes = Set(entries.map(\.framebuffer.count))
        return sizes.count == 1 ? .homogeneous(framebufferMiB: first.framebuffer.count) : .heterogeneous
    }

    /// VF indices without a vGPU, ascending.
    public var freeVFs: [Int] {
        let used = Set(entries.map(\.vf))
        return (0..<vfSlots).filter { !used.contains($0) }
    }

    // MARK: Changes

    /// Gives VF `vf` an instance of `type` (at `placement` when given, else the lowest free one).
    /// Refuses, changing nothing, when the GPU cannot hold it.
    @discardableResult
    public mutating func place(
        _ type: VGPUCatalog.VGPUType, vf: Int, at placement: Int? = nil,
        channelsAt channelOffset: Int? = nil
    ) throws(BookRefusal) -> Entry {
        let e = try fit(type, vf: vf, at: placement, channelsAt: channelOffset)
        insertSorted(e)
        return e
    }

    /// Places several instances, all or nothing: on a refusal the book is unchanged and the
    /// refusal names the request that did not fit.
    public mutating func placeAll(_ requests: [(type: VGPUCatalog.VGPUType, vf: Int)]) throws(BookRefusal) -> [Entry] {
        var copy = self
        var out: [Entry] = []
        for (i, r) in requests.enumerated() {
            do { out.append(try copy.place(r.type, vf: r.vf)) } catch {
                let done = requests.prefix(i).map(\.type.name)
                let prefix = done.isEmpty ? "" : "after \(Self.summary(done)) of the request, "
                throw BookRefusal(error.kind, prefix + error.message)
            }
        }
        self = copy
        return out
    }

    /// Removes VF `vf`'s vGPU and returns what it had.
    @discardableResult
    public mutating func release(vf: Int) -> Entry? {
        guard let i = entries.firstIndex(where: { $0.vf == vf }) else { return nil }
        return entries.remove(at: i)
    }

    /// Puts back an entry recorded earlier (from vgpuctl's state file), exactly as recorded:
    /// same placement, channels and copy engines. Refuses when it does not match its type or
    /// collides with another entry.
    public mutating func restore(_ e: Entry) throws(BookRefusal) {
        guard let t = catalog.type(named: e.type) else {
            throw BookRefusal(.unknownType, "recorded type \(e.type) of VF \(e.vf) is not in catalog \(catalog.name)")
        }
        let fresh = try fit(t, vf: e.vf, at: e.placement, channelsAt: e.channels.offset, copyEngines: e.copyEngines)
        guard fresh == e else {
            throw BookRefusal(
                .framebuffer,
                "recorded entry of VF \(e.vf) (\(e.type)) does not match its type in catalog \(catalog.name)")
        }
        insertSorted(e)
    }

    mutating func insertSorted(_ e: Entry) {
        let i = entries.firstIndex { $0.vf > e.vf } ?? entries.endIndex
        entries.insert(e, at: i)
    }

    static func summary(_ names: [String]) -> String {
        var counts: [(String, Int)] = []
        for n in names {
            if let i = counts.firstIndex(where: { $0.0 == n }) { counts[i].1 += 1 } else { counts.append((n, 1)) }
        }
        return counts.map { "\($0.1) × \($0.0)" }.joined(separator: ", ")
    }
}
