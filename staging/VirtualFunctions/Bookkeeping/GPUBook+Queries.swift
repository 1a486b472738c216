import VGPUTypes

extension GPUBook {
    /// How many more instances of `type` the GPU can take now, each on the lowest free VF slot
    /// (0 when the next one would be refused).
    public func available(_ type: VGPUCatalog.VGPUType) -> Int {
        var copy = self
        var n = 0
        while let vf = copy.freeVFs.first, (try? copy.place(type, vf: vf)) != nil { n += 1 }
        return n
    }

    /// Why the next instance of `type` would be refused, or nil when it fits.
    public func refusal(for type: VGPUCatalog.VGPUType) -> BookRefusal? {
        guard let vf = freeVFs.first else {
            return BookRefusal(.vfSlot, "every one of the GPU's \(vfSlots) VF slots carries a vGPU")
        }
        do {
            _ = try fit(type, vf: vf)
            return nil
        } catch { return error }
    }

    /// Totals, for listings.
    public struct Usage: Sendable, Equatable, Codable {
        public var mode: String
        public var vgpus: Int
        public var vfSlots: Int
        public var framebufferUsableMiB: Int
        public var framebufferUsedMiB: Int
        public var framebufferFreeMiB: Int
        public var unitMiB: Int
        public var unitsUsed: Int
        public var units: Int
        public var channelsUsed: Int
        public var channels: Int
        public var computeSlicesUsed: Int
    }

    public var usage: Usage {
        let unitsUsed = entries.reduce(0) { $0 + $1.units }
        return Usage(
            mode: mode.description, vgpus: entries.count, vfSlots: vfSlots,
            framebufferUsableMiB: gpu.usableMiB, framebufferUsedMiB: entries.reduce(0) { $0 + $1.framebuffer.count },
            framebufferFreeMiB: (gpu.placementUnits - unitsUsed) * gpu.unitMiB, unitMiB: gpu.unitMiB,
            unitsUsed: unitsUsed, units: gpu.placementUnits,
            channelsUsed: entries.reduce(0) { $0 + $1.channels.count }, channels: gpu.channels,
            computeSlicesUsed: entries.reduce(0) { $0 + $1.computeSlices })
    }

    /// Every broken invariant of the book, as sentences (empty when it is consistent). The
    /// property tests check this after every step.
    public func violations() -> [String] {
        var out: [String] = []
        for (i, a) in entries.enumerated() {
            guard let t = catalog.type(named: a.type) else {
                out.append("VF \(a.vf): unknown type \(a.type)")
                continue
            }
            if !t.placements.contains(a.placement) {
                out.append("VF \(a.vf): placement \(a.placement) is not one of \(t.name)'s")
            }
            if a.framebuffer.count > a.units * gpu.unitMiB {
                out.append("VF \(a.vf): frame buffer larger than its placement")
            }
            if a.unitRange.upperBound > gpu.placementUnits { out.append("VF \(a.vf): placement beyond the GPU") }
            if a.channels.end > gpu.channels || a.channels.offset % a.channels.count != 0 {
                out.append("VF \(a.vf): channels \(a.channels) outside the pool or unaligned")
            }
            if a.vf < 0 || a.vf >= vfSlots { out.append("VF \(a.vf): beyond the VF slots") }
            for b in entries[(i + 1)...] {
                if a.vf == b.vf { out.append("VF \(a.vf) appears twice") }
                if a.framebuffer.overlaps(b.framebuffer) {
                    out.append("VF \(a.vf) and VF \(b.vf) overlap in frame buffer")
                }
                if a.unitRange.overlaps(b.unitRange) {
                    out.append("VF \(a.vf) and VF \(b.vf) overlap in placement units")
                }
                if a.channels.overlaps(b.channels) { out.append("VF \(a.vf) and VF \(b.vf) overlap in channels") }
                if a.isMIG && b.isMIG && !Set(a.copyEngines).isDisjoint(with: b.copyEngines) {
                    out.append("VF \(a.vf) and VF \(b.vf) share copy engines of their GPU instances")
                }
                if a.isMIG != b.isMIG { out.append("VF \(a.vf) and VF \(b.vf) mix MIG-backed and time-sliced") }
            }
        }
        for t in catalog.types where count(of: t.name) > t.maxInstances {
            out.append("\(t.name): \(count(of: t.name)) instances exceed the maximum \(t.maxInstances)")
        }
        let u = usage
        if u.framebufferUsedMiB > gpu.usableMiB {
            out.append("frame buffer \(u.framebufferUsedMiB) MiB exceeds the usable \(gpu.usableMiB)")
        }
        if u.channelsUsed > gpu.channels { out.append("channels \(u.channelsUsed) exceed the pool \(gpu.channels)") }
        if let geo = gpu.mig, u.computeSlicesUsed > geo.computeSlices {
            out.append("compute slices \(u.computeSlicesUsed) exceed \(geo.computeSlices)")
        }
        if !gpu.heterogeneous && !entries.contains(where: \.isMIG) && Set(entries.map(\.framebuffer.count)).count > 1 {
            out.append("homogeneous GPU holds several frame-buffer sizes")
        }
        return out
    }
}
