import Foundation
import Yams

/// Walks a catalog document, resolves every derived value and checks that the numbers hold
/// together (a fresh GPU must be able to take each type's maximum instance count).
struct CatalogReader {
    let r: NodeReader

    func catalog(_ root: Node) throws(VGPUCatalogError) -> VGPUCatalog {
        let top = try r.mapping(root, "the top level", allowed: ["catalog", "gpu", "types"])
        let nameNode = try r.required(top, "catalog", in: root, "the top level")
        let name = try r.string(nameNode, "catalog")
        guard name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
            throw r.error(
                nameNode,
                "'catalog' must be letters and digits (the prefix of the type names, e.g. H100XM), not '\(name)'")
        }
        let gpuNode = try r.required(top, "gpu", in: root, "the top level")
        let typesNode = try r.required(top, "types", in: root, "the top level")
        let typeNodes = try r.list(typesNode, "types")
        guard !typeNodes.isEmpty else { throw r.error(typesNode, "'types' lists no vGPU type") }
        var raws: [RawType] = []
        for t in typeNodes { raws.append(try rawType(t, catalog: name)) }
        let gpu = try gpu(gpuNode, types: raws)
        var types: [VGPUCatalog.VGPUType] = []
        for raw in raws {
            if let dup = types.first(where: { $0.name == raw.name }) {
                throw r.error(raw.node, "type \(raw.name) is defined twice (also with id \(dup.id))")
            }
            if let dup = types.first(where: { $0.id == raw.id }) {
                throw r.error(raw.node, "type \(raw.name) has id \(raw.id), which \(dup.name) already has")
            }
            types.append(try resolve(raw, gpu: gpu))
        }
        return VGPUCatalog(name: name, file: r.file, gpu: gpu, types: types)
    }

    // MARK: GPU

    func gpu(_ n: Node, types: [RawType]) throws(VGPUCatalogError) -> VGPUCatalog.GPU {
        let m = try r.mapping(
            n, "'gpu'",
            allowed: [
                "name", "deviceIDs", "framebufferMiB", "reserved", "placementUnits",
                "channels", "copyEngines", "vfSlots", "heterogeneous", "mig",
            ])
        func req(_ k: String) throws(VGPUCatalogError) -> Node { try r.required(m, k, in: n, "'gpu'") }
        let name = try r.string(try req("name"), "name")
        let idsNode = try req("deviceIDs")
        var ids: [UInt16] = []
        for i in try r.list(idsNode, "deviceIDs") { ids.append(UInt16(try r.int(i, "deviceIDs", min: 0, max: 0xFFFF))) }
        guard !ids.isEmpty else { throw r.error(idsNode, "'deviceIDs' names no device") }
        let fb = try r.int(try req("framebufferMiB"), "framebufferMiB", min: 1)
        var reserved: [VGPUCatalog.Reservation] = []
        if let rn = m["reserved"] {
            for e in try r.list(rn, "reserved") {
                let em = try r.mapping(e, "a 'reserved' entry", allowed: ["name", "sizeMiB"])
                reserved.append(
                    .init(
                        name: try r.string(try r.required(em, "name", in: e, "a 'reserved' entry"), "name"),
                        sizeMiB: try r.int(
                            try r.required(em, "sizeMiB", in: e, "a 'reserved' entry"), "sizeMiB", min: 0)))
            }
        }
        var mig: VGPUCatalog.MIGGeometry?
        if let mn = m["mig"] {
            let mm = try r.mapping(mn, "'gpu.mig'", allowed: ["computeSlices", "memorySlices"])
            mig = .init(
                computeSlices: try r.int(
                    try r.required(mm, "computeSlices", in: mn, "'gpu.mig'"), "computeSlices", min: 1, max: 64),
                memorySlices: try r.int(
                    try r.required(mm, "memorySlices", in: mn, "'gpu.mig'"), "memorySlices", min: 1, max: 64))
        }
        let channelsNode = try req("channels")
        let channels = try r.int(channelsNode, "channels", min: 1, max: 1 << 20)
        guard channels & (channels - 1) == 0 else {
            throw r.error(channelsNode, "'channels' must be a power of two, not \(channels)")
        }
        let unitsNode = m["placementUnits"]
        let units =
            try unitsNode.map { (u: Node) throws(VGPUCatalogError) in try r.int(u, "placementUnits", min: 1, max: 4096)
            }
            ?? defaultUnits(types, mig: mig)
        let g = VGPUCatalog.GPU(
            name: name, deviceIDs: ids, framebufferMiB: fb, reserved: reserved, placementUnits: units,
            channels: channels,
            copyEngines: try r.int(try req("copyEngines"), "copyEngines", min: 1, max: 64),
            vfSlots: try r.int(try req("vfSlots"), "vfSlots", min: 1, max: 4096),
            heterogeneous: try m["heterogeneous"].map { (h: Node) throws(VGPUCatalogError) in
                try r.bool(h, "heterogeneous")
            }
                ?? false,
            mig: mig)
        if g.usableMiB <= 0 {
            throw r.error(n, "the reservations (\(fb - g.usableMiB) MiB) leave no frame buffer of the \(fb) MiB")
        }
        if g.unitMiB < 2 {
            throw r.error(unitsNode ?? n, "\(units) placement units over \(g.usableMiB) MiB make units below 2 MiB")
        }
        if let mig, units % mig.memorySlices != 0 {
            throw r.error(
                unitsNode ?? n,
                "placementUnits \(units) must be a multiple of the \(mig.memorySlices) MIG memory slices")
        }
        return g
    }

    /// The least common multiple of the time-sliced types' maximum counts (and the MIG memory
    /// slices), so that every type's default placement size is a whole number of units.
    func defaultUnits(_ types: [RawType], mig: VGPUCatalog.MIGGeometry?) -> Int {
        func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
        var l = mig?.memorySlices ?? 1
        for t in types where t.mig == nil && t.placementSize == nil {
            l = l / gcd(l, t.maxInstances) * t.maxInstances
            if l > 4096 { return 4096 }
        }
        return l
    }

    // MARK: Types

    struct RawType {
        var node: Node
        var name: String
        var id: Int
        var maxInstances: Int
        var maxNode: Node
        var nominalMiB: Int
        var series: String
        var migSlicesInName: Int?
        var framebufferMiB: (Int, Node)?
        var placementSize: (Int, Node)?
        var channels: (Int, Node)?
        var copyEngines: (Int, Node)?
        var mig: (VGPUCatalog.MIGBacking, copyEngines: Int?, node: Node)?
    }

    func rawType(_ n: Node, catalog: String) throws(VGPUCatalogError) -> RawType {
        let what = "a type"
        let m = try r.mapping(
            n, what,
            allowed: [
                "name", "id", "maxInstances", "framebufferMiB", "placementSize", "channels", "copyEngines", "mig",
            ])
        let nameNode = try r.required(m, "name", in: n, what)
        let name = try r.string(nameNode, "name")
        guard let parsed = Self.parseName(name, catalog: catalog) else {
            throw r.error(
                nameNode,
                "type name '\(name)' must be \(catalog)-<GB><series> (e.g. \(catalog)-10C) or, MIG-backed, \(catalog)-<slices>-<GB><series> (e.g. \(catalog)-1-10C)"
            )
        }
        let maxNode = try r.required(m, "maxInstances", in: n, "type \(name)")
        var t = RawType(
            node: n, name: name, id: try r.int(try r.required(m, "id", in: n, "type \(name)"), "id", min: 1),
            maxInstances: try r.int(maxNode, "maxInstances", min: 1, max: 4096), maxNode: maxNode,
            nominalMiB: parsed.gb * 1024, series: parsed.series, migSlicesInName: parsed.slices)
        func opt(_ k: String, min: Int) throws(VGPUCatalogError) -> (Int, Node)? {
            guard let v = m[k] else { return nil }
            return (try r.int(v, k, min: min), v)
        }
        t.framebufferMiB = try opt("framebufferMiB", min: 1)
        t.placementSize = try opt("placementSize", min: 1)
        t.channels = try opt("channels", min: 1)
        t.copyEngines = try opt("copyEngines", min: 0)
        if let mn = m["mig"] {
            let mm = try r.mapping(
                mn, "'mig' of \(name)",
                allowed: ["profile", "computeSlices", "memorySlices", "placements", "copyEngines"])
            func req(_ k: String) throws(VGPUCatalogError) -> Node { try r.required(mm, k, in: mn, "'mig' of \(name)") }
            var places: [Int] = []
            for p in try r.list(try req("placements"), "placements") {
                places.append(try r.int(p, "placements", min: 0, max: 63))
            }
            let backing = VGPUCatalog.MIGBacking(
                profile: try r.string(try req("profile"), "profile"),
                computeSlices: try r.int(try req("computeSlices"), "computeSlices", min: 1, max: 64),
                memorySlices: try r.int(try req("memorySlices"), "memorySlices", min: 1, max: 64),
                memoryPlacements: places.sorted())
            if let s = parsed.slices, s != backing.computeSlices {
                throw r.error(
                    mn,
                    "\(name) names \(s) compute slices but its GPU instance \(backing.profile) has \(backing.computeSlices)"
                )
            }
            t.mig = (
                backing,
                try mm["copyEngines"].map { (c: Node) throws(VGPUCatalogError) in try r.int(c, "copyEngines", min: 0) },
                mn
            )
        } else if parsed.slices != nil {
            throw r.error(
                nameNode,
                "\(name) is named like a MIG-backed type (\(catalog)-<slices>-<GB><series>) but has no 'mig' block")
        }
        return t
    }

    /// `H100XM-10C` -> (nil, 10, "C"); `H100XM-1-10CME` -> (1, 10, "CME").
    static func parseName(_ name: String, catalog: String) -> (slices: Int?, gb: Int, series: String)? {
        guard name.hasPrefix(catalog + "-") else { return nil }
        let parts = name.dropFirst(catalog.count + 1).split(separator: "-", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count) else { return nil }
        let last = parts[parts.count - 1]
        let digits = last.prefix { $0.isASCII && $0.isNumber }
        let series = last.dropFirst(digits.count)
        guard let gb = Int(digits), gb > 0, !series.isEmpty, series.allSatisfy({ $0.isASCII && $0.isUppercase }) else {
            return nil
        }
        var slices: Int?
        if parts.count == 2 {
            guard let s = Int(parts[0]), s > 0 else { return nil }
            slices = s
        }
        return (slices, gb, String(series))
    }

    func resolve(_ t: RawType, gpu: VGPUCatalog.GPU) throws(VGPUCatalogError) -> VGPUCatalog.VGPUType {
        let units = gpu.placementUnits
        var size: Int
        var placements: [Int]
        var copyEngines = t.copyEngines?.0 ?? gpu.copyEngines
        var backing: VGPUCatalog.MIGBacking?
        if let backed = t.mig {
            let (mig, ce, node) = (backed.0, backed.copyEngines, backed.node)
            guard let geo = gpu.mig else {
                throw r.error(node, "\(t.name) is MIG-backed but 'gpu' has no 'mig' geometry")
            }
            let perSlice = units / geo.memorySlices
            size = mig.memorySlices * perSlice
            if let bad = mig.memoryPlacements.first(where: { $0 + mig.memorySlices > geo.memorySlices }) {
                throw r.error(
                    node,
                    "\(t.name): a GPU instance of \(mig.memorySlices) memory slices cannot start at slice \(bad) of \(geo.memorySlices)"
                )
            }
            if mig.computeSlices > geo.computeSlices {
                throw r.error(
                    node, "\(t.name) needs \(mig.computeSlices) compute slices; the GPU has \(geo.computeSlices)")
            }
            placements = mig.memoryPlacements.map { $0 * perSlice }
            copyEngines = ce ?? mig.computeSlices
            backing = mig
            if t.maxInstances * mig.computeSlices > geo.computeSlices {
                throw r.error(
                    t.maxNode,
                    "\(t.name): \(t.maxInstances) instances of \(mig.computeSlices) compute slices exceed the GPU's \(geo.computeSlices)"
                )
            }
            if t.maxInstances * copyEngines > gpu.copyEngines {
                throw r.error(
                    t.maxNode,
                    "\(t.name): \(t.maxInstances) instances of \(copyEngines) copy engines exceed the GPU's \(gpu.copyEngines)"
                )
            }
        } else {
            if let given = t.placementSize {
                size = given.0
            } else {
                guard units % t.maxInstances == 0 else {
                    throw r.error(
                        t.maxNode,
                        "\(t.name): placementUnits \(units) is not a multiple of maxInstances \(t.maxInstances); give 'placementSize' or change 'placementUnits'"
                    )
                }
                size = units / t.maxInstances
            }
            placements = Array(stride(from: 0, through: units - size, by: size))
            if copyEngines > gpu.copyEngines, let given = t.copyEngines {
                throw r.error(
                    given.1, "\(t.name) gives each VF \(copyEngines) copy engines; the GPU has \(gpu.copyEngines)")
            }
        }
        if size > units, let given = t.placementSize {
            throw r.error(given.1, "\(t.name): placementSize \(size) exceeds the GPU's \(units) units")
        }
        let slot = size * gpu.unitMiB
        let fb = t.framebufferMiB?.0 ?? min(t.nominalMiB, slot)
        if fb > slot, let given = t.framebufferMiB {
            throw r.error(
                given.1,
                "\(t.name) asks for \(fb) MiB but its placement of \(size) units holds \(slot) MiB (\(gpu.unitMiB) MiB per unit)"
            )
        }
        // MIG-backed: the GPU instance's share of the channels (by memory slices), as MIG
        // partitions channels per GPU instance; time-sliced: NVIDIA's prevPow2(channels / max).
        let share =
            backing.map { m in gpu.mig.map { gpu.channels * m.memorySlices / $0.memorySlices } ?? gpu.channels }
            ?? gpu.channels / t.maxInstances
        let channels = t.channels?.0 ?? Self.prevPow2(share)
        if channels & (channels - 1) != 0 || channels == 0, let given = t.channels {
            throw r.error(given.1, "\(t.name): 'channels' must be a power of two, not \(channels)")
        }
        guard channels > 0 else {
            throw r.error(
                t.maxNode,
                "\(t.name): \(t.maxInstances) instances leave no channel each from the pool of \(gpu.channels)")
        }
        let disjoint = Self.disjointCount(placements, size: size)
        let checks: [(Bool, String)] = [
            (t.maxInstances <= gpu.vfSlots, "\(t.maxInstances) instances need more VFs than the GPU's \(gpu.vfSlots)"),
            (
                t.maxInstances <= disjoint,
                "\(t.maxInstances) instances of \(size) units do not fit the GPU's \(units) placement units (\(disjoint) fit)"
            ),
            (
                t.maxInstances * channels <= gpu.channels,
                "\(t.maxInstances) instances × \(channels) channels exceed the pool of \(gpu.channels)"
            ),
        ]
        for (ok, what) in checks where !ok { throw r.error(t.maxNode, "\(t.name): \(what)") }
        return VGPUCatalog.VGPUType(
            name: t.name, id: t.id, nominalMiB: t.nominalMiB, series: t.series, framebufferMiB: fb,
            maxInstances: t.maxInstances, placementSize: size, placements: placements, channels: channels,
            copyEngines: copyEngines, mig: backing)
    }

    /// The largest power of two that is not above `n` (0 for 0).
    static func prevPow2(_ n: Int) -> Int {
        guard n > 0 else { return 0 }
        var p = 1
        while p <= n / 2 { p *= 2 }
        return p
    }

    /// How many instances fit side by side when each takes the lowest free placement.
    static func disjointCount(_ placements: [Int], size: Int) -> Int {
        var end = Int.min
        var n = 0
        for p in placements.sorted() where p >= end {
            n += 1
            end = p + size
        }
        return n
    }
}
