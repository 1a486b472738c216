import VGPUTypes

/// Why the book cannot hold a vGPU, as a sentence with the numbers that decide it.
public struct BookRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// Which resource ran out (or which rule forbids it).
    public enum Kind: String, Sendable, Equatable, Codable {
        case vfSlot, vfBusy, maxInstances, mode, framebuffer, computeSlices, channels, copyEngines, unknownType
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

extension GPUBook {
    /// The entry VF `vf` would get for `type`, checking every resource in a fixed order: VF
    /// slot, NVIDIA's instance limit, mode, frame-buffer placement, MIG compute slices,
    /// channels, copy engines. Changes nothing.
    /// `placement`, `channelOffset` and `copyEngines`, when given, are checked instead of chosen.
    public func fit(
        _ type: VGPUCatalog.VGPUType, vf: Int, at placement: Int? = nil,
        channelsAt channelOffset: Int? = nil, copyEngines wantedEngines: [Int]? = nil
    ) throws(BookRefusal) -> Entry {
        let t = type
        guard vf >= 0, vf < vfSlots else {
            throw BookRefusal(.vfSlot, "VF index \(vf) is beyond the GPU's \(vfSlots) VF slots (0-\(vfSlots - 1))")
        }
        if let e = entry(vf: vf) {
            throw BookRefusal(.vfBusy, "VF \(vf) already carries \(e.type); clear it first")
        }
        let n = count(of: t.name)
        if n >= t.maxInstances {
            throw BookRefusal(
                .maxInstances,
                "\(t.name): the GPU already holds \(n) of at most \(t.maxInstances) instances (NVIDIA's limit per GPU)")
        }
        try checkMode(t)
        let unit = gpu.unitMiB
        let start = try framebufferPlacement(t, at: placement)
        var compute = 0
        if let mig = t.mig, let geo = gpu.mig {
            let used = entries.reduce(0) { $0 + $1.computeSlices }
            if used + mig.computeSlices > geo.computeSlices {
                throw BookRefusal(
                    .computeSlices,
                    "\(t.name) needs GPU instance \(mig.profile) with \(mig.computeSlices) compute slices; \(used) of the GPU's \(geo.computeSlices) are in use, \(geo.computeSlices - used) free"
                )
            }
            compute = mig.computeSlices
        }
        let channels = try channelRange(t, at: channelOffset)
        let engines = try copyEngines(t, wanted: wantedEngines)
        return Entry(
            vf: vf, type: t.name, placement: start, units: t.placementSize,
            framebuffer: Span(offset: start * unit, count: t.framebufferMiB),
            channels: channels, copyEngines: engines, computeSlices: compute)
    }

    func checkMode(_ t: VGPUCatalog.VGPUType) throws(BookRefusal) {
        guard let other = entries.first else { return }
        if t.isMIG != other.isMIG {
            let (have, want) = other.isMIG ? ("MIG-backed", "time-sliced") : ("time-sliced", "MIG-backed")
            throw BookRefusal(
                .mode,
                "the GPU holds \(have) vGPUs (\(other.type) on VF \(other.vf)); \(want) \(t.name) cannot share a GPU with them (a GPU is either in MIG mode or time-sliced)"
            )
        }
        if !t.isMIG && !gpu.heterogeneous, let diff = entries.first(where: { $0.framebuffer.count != t.framebufferMiB })
        {
            throw BookRefusal(
                .mode,
                "\(catalog.gpu.name) runs vGPUs in homogeneous mode (one frame-buffer size per GPU): it holds \(diff.type) (\(diff.framebuffer.count) MiB) on VF \(diff.vf), and \(t.name) has \(t.framebufferMiB) MiB"
            )
        }
    }

    /// Placement units taken by the entries.
    var usedUnits: [Bool] {
        var used = Array(repeating: false, count: gpu.placementUnits)
        for e in entries { for u in e.unitRange where u < used.count { used[u] = true } }
        return used
    }

    /// The lowest allowed placement of `t` whose units are all free (or `at`, checked).
    func framebufferPlacement(_ t: VGPUCatalog.VGPUType, at wanted: Int?) throws(BookRefusal) -> Int {
        let used = usedUnits
        func free(_ p: Int) -> Bool {
            p + t.placementSize <= used.count && !used[p..<(p + t.placementSize)].contains(true)
        }
        if let wanted {
            guard t.placements.contains(wanted) else {
                throw BookRefusal(
                    .framebuffer,
                    "\(t.name) cannot start at placement unit \(wanted); its placements are \(t.placements.map(String.init).joined(separator: ", "))"
                )
            }
            guard free(wanted) else {
                throw BookRefusal(
                    .framebuffer,
                    "\(t.name) at placement unit \(wanted) overlaps another vGPU's frame buffer; free: \(freeRunsText(used))"
                )
            }
            return wanted
        }
        if let p = t.placements.first(where: free) { return p }
        throw BookRefusal(.framebuffer, framebufferRefusal(t, used: used))
    }

    /// "H100XM-20C needs 20320 MiB at a 20320-aligned placement (20 of the GPU's 80 units of
    /// 1016 MiB); free: 16256 MiB at 60960".
    func framebufferRefusal(_ t: VGPUCatalog.VGPUType, used: [Bool]) -> String {
        let unit = gpu.unitMiB
        let slot = t.placementSize * unit
        let where_: String
        if let mig = t.mig {
            let offsets = t.placements.map { String($0 * unit) }
            where_ =
                "at offset \(offsets.joined(separator: ", ")) (GPU instance \(mig.profile), \(mig.memorySlices) memory slice\(mig.memorySlices == 1 ? "" : "s"))"
        } else {
            where_ =
                "at a \(slot)-aligned placement (\(t.placementSize) of the GPU's \(gpu.placementUnits) units of \(unit) MiB)"
        }
        return "\(t.name) needs \(slot) MiB \(where_); free: \(freeRunsText(used))"
    }

    /// Free frame buffer as "16256 MiB at 60960, 4064 MiB at 0" (MiB offsets), or "none".
    func freeRunsText(_ used: [Bool]) -> String {
        let runs = freeRuns(used)
        if runs.isEmpty { return "none" }
        return runs.map { "\($0.count * gpu.unitMiB) MiB at \($0.offset * gpu.unitMiB)" }.joined(separator: ", ")
    }

    /// Free placement units as runs, ascending.
    func freeRuns(_ used: [Bool]) -> [Span] {
        var runs: [Span] = []
        var i = 0
        while i < used.count {
            if used[i] {
                i += 1
                continue
            }
            var j = i
            while j < used.count && !used[j] { j += 1 }
            runs.append(Span(offset: i, count: j - i))
            i = j
        }
        return runs
    }

    /// The lowest free channel range of `t.channels`, aligned to its size (or at `at`, checked).
    func channelRange(_ t: VGPUCatalog.VGPUType, at wanted: Int?) throws(BookRefusal) -> Span {
        let c = t.channels
        func free(_ o: Int) -> Bool {
            let s = Span(offset: o, count: c)
            return s.end <= gpu.channels && !entries.contains { $0.channels.overlaps(s) }
        }
        if let wanted {
            guard wanted % c == 0, free(wanted) else {
                throw BookRefusal(
                    .channels,
                    "\(t.name) cannot take channels \(wanted)..<\(wanted + c): they are not free or not \(c)-aligned")
            }
            return Span(offset: wanted, count: c)
        }
        var o = 0
        while o + c <= gpu.channels {
            if free(o) { return Span(offset: o, count: c) }
            o += c
        }
        let used = entries.reduce(0) { $0 + $1.channels.count }
        throw BookRefusal(
            .channels,
            "\(t.name) needs \(c) contiguous channels at a \(c)-aligned offset; \(used) of the GPU's \(gpu.channels) are in use and no aligned range of \(c) is free (in use: \(entries.sorted { $0.channels.offset < $1.channels.offset }.map(\.channels.description).joined(separator: ", ")))"
        )
    }

    /// Copy engines: the GPU's first `t.copyEngines`, shared, for time-sliced types; the lowest
    /// free ones, exclusive, for MIG-backed types.
    func copyEngines(_ t: VGPUCatalog.VGPUType, wanted: [Int]? = nil) throws(BookRefusal) -> [Int] {
        let k = min(t.copyEngines, gpu.copyEngines)
        guard t.isMIG else { return Array(0..<k) }
        let taken = Set(entries.filter(\.isMIG).flatMap(\.copyEngines))
        let free = (0..<gpu.copyEngines).filter { !taken.contains($0) }
        if let wanted {
            guard wanted.count == k, Set(wanted).count == k, wanted.allSatisfy(free.contains) else {
                throw BookRefusal(
                    .copyEngines,
                    "\(t.name) cannot take copy engines \(wanted): it needs \(k) of its own, free are \(free)")
            }
            return wanted
        }
        guard free.count >= k else {
            throw BookRefusal(
                .copyEngines,
                "\(t.name) needs \(k) copy engines of its own; \(taken.count) of the GPU's \(gpu.copyEngines) belong to other GPU instances, \(free.count) free"
            )
        }
        return Array(free.prefix(k))
    }
}
