import HostKit

/// What the kubelet hands a container (a KubeVirt virt-launcher pod) for a set of device ids of
/// one resource, by KubeVirt's contract: an environment variable naming the devices, and the
/// device nodes the container needs to open them.
public struct Allocation: Sendable, Equatable {
    public struct DeviceNode: Sendable, Equatable, Hashable {
        public var containerPath: String
        public var hostPath: String
        public var permissions: String
    }

    public var envs: [String: String]
    public var devices: [DeviceNode]

    /// The allocation of `ids` of `resource` in `snapshot`.
    ///
    /// Env: `PCI_RESOURCE_<NAME>=bdf,bdf` (GPUs with their companions, VFs) or
    /// `MDEV_PCI_RESOURCE_<NAME>=uuid,uuid` (mdevs), with KubeVirt's name rule. Nodes:
    /// `/dev/vfio/vfio`, `/dev/vfio/<group>` per IOMMU group, and, where the kernel has them,
    /// `/dev/iommu` and `/dev/vfio/devices/vfioN`; `/dev/egmN` when every GPU of that EGM
    /// region is in the allocation. An id the resource does not have, or an unhealthy one, is
    /// an error naming it.
    public static func make(_ snapshot: FleetSnapshot, resource: String, ids: [String]) throws(FleetError) -> Allocation
    {
        let mine = snapshot.devices(of: resource)
        var chosen: [FleetDevice] = []
        for id in ids {
            guard let d = mine.first(where: { $0.id == id }) else {
                throw .invalid(
                    .noSuchDevice,
                    "\(resource) has no device '\(id)'; it has: \(mine.map(\.id).joined(separator: ", "))")
            }
            if let why = d.unhealthy { throw .refused(.unhealthy, "\(resource) device \(id) is unhealthy: \(why)") }
            chosen.append(d)
        }
        let mdev = chosen.contains { $0.kind == .mdev }
        let value = chosen.flatMap { d in d.kind == .mdev ? [d.mdevUUID ?? d.id] : d.functions.map(\.description) }
            .joined(separator: ",")
        var nodes: [DeviceNode] = [node("/dev/vfio/vfio")]
        var groups: [Int] = []
        for g in chosen.compactMap(\.iommuGroup) where !groups.contains(g) { groups.append(g) }
        nodes += groups.map { node("/dev/vfio/\($0)") }
        let cdevs = chosen.flatMap(\.vfioCdevs)
        if snapshot.hasIOMMUFD && !cdevs.isEmpty {
            nodes.append(node("/dev/iommu"))
            nodes += cdevs.map { node("/dev/vfio/devices/\($0)") }
        }
        let gpus = Set(chosen.filter { $0.kind == .passthrough }.map(\.gpu))
        for region in snapshot.egm where !region.gpus.isEmpty && region.gpus.allSatisfy(gpus.contains) {
            nodes.append(node(region.device))
        }
        return Allocation(envs: [ResourceNames.environmentName(resource, mdev: mdev): value], devices: nodes)
    }

    static func node(_ path: String) -> DeviceNode {
        DeviceNode(containerPath: path, hostPath: path, permissions: "rwm")
    }

    /// The ids the plugin prefers for `size` devices out of `available`, `mustInclude` first:
    /// devices on the NUMA node of the ones already chosen (or the node with most available)
    /// first, then devices sharing an IOMMU group or a GPU with the chosen ones, then address
    /// order.
    public static func preferred(
        _ snapshot: FleetSnapshot, resource: String, available: [String], mustInclude: [String], size: Int
    ) -> [String] {
        let byID = Dictionary(snapshot.devices(of: resource).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var chosen = mustInclude.filter { byID[$0] != nil }
        var pool = available.filter { !chosen.contains($0) && byID[$0]?.healthy == true }
        func numa(_ id: String) -> Int { byID[id]?.numaNode ?? -1 }
        var node: Int? = chosen.first.map(numa)
        if node == nil {
            var count: [Int: Int] = [:]
            for id in pool { count[numa(id), default: 0] += 1 }
            node = count.max { a, b in a.value != b.value ? a.value < b.value : a.key > b.key }?.key
        }
        while chosen.count < size, !pool.isEmpty {
            let groups = Set(chosen.compactMap { byID[$0]?.iommuGroup })
            let gpus = Set(chosen.compactMap { byID[$0]?.gpu })
            func score(_ id: String) -> Int {
                var s = 0
                if numa(id) == node { s += 4 }
                if let g = byID[id]?.iommuGroup, groups.contains(g) { s += 2 }
                if let p = byID[id]?.gpu, gpus.contains(p) { s += 1 }
                return s
            }
            let best = pool.enumerated().max { a, b in
                let sa = score(a.element)
                let sb = score(b.element)
                return sa != sb ? sa < sb : a.offset > b.offset
            }
            guard let pick = best else { break }
            chosen.append(pick.element)
            pool.remove(at: pick.offset)
        }
        return chosen
    }
}
