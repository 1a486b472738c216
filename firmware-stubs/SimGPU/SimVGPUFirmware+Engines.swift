import HostKit
import VGPUTypes

/// What the simulated firmware reports about a VF's engines and BAR1 window (stage 3's engine
/// enumeration): the copy engines that serve the VF and where its BAR1 window lies.
///
/// The firmware's own rules, written apart from vgpuctl's book so the two can be compared:
/// time-sliced vGPUs share the GPU's first copy engines (as many as the type asks, at most the
/// GPU's); each MIG-backed vGPU gets its own, the lowest free ones, VFs taken in index order.
/// The BAR1 window of VF `i` is the VF's whole BAR1 as the firmware was told at boot: the
/// first VF's BAR1 address (`GSP_VF_INFO.FirstVFBar1Address`, NVKV `FIRST_BAR1`) plus `i`
/// VF BAR1 sizes (the SR-IOV capability's VF BAR1 size).
public struct SimVFEngines: Sendable, Equatable {
    /// Copy engine indices, ascending.
    public var copyEngines: [Int]
    /// Bus address and size in bytes of the VF's BAR1 window (0, 0 when the GPU has no VF BAR1).
    public var bar1Address: UInt64
    public var bar1Size: UInt64
}

extension SimVGPUFirmware {
    /// The engines and BAR1 window of VF `vf`, nil when it carries no vGPU.
    public func engines(vf: Int) throws(SimVGPUError) -> SimVFEngines? {
        let sim = try sim()
        let s = try state()
        let devices = s.pfs[pf.description]?.devices ?? []
        guard devices.contains(where: { $0.vf == vf }) else { return nil }
        let types = s.pfs[pf.description]?.addedTypes ?? []
        let gpuEngines = driver.builtInCatalog(pf, sim: sim)?.gpu.copyEngines ?? 0
        var taken = Set<Int>()
        var mine: [Int] = []
        for d in devices.sorted(by: { $0.vf < $1.vf }) {
            guard let t = types.first(where: { $0.id == d.typeID }) else { continue }
            let k = min(t.copyEngines, gpuEngines)
            let engines: [Int]
            if t.isMIG {
                engines = Array((0..<gpuEngines).filter { !taken.contains($0) }.prefix(k))
                taken.formUnion(engines)
            } else {
                engines = Array(0..<k)
            }
            if d.vf == vf { mine = engines }
        }
        let hw = sim.pfs[pf.description]
        let bar1 = hw?.spec.sriov?.vfBars?.first { $0.index == 1 }
        let size = bar1?.size.value ?? 0
        let base = hw?.vfBarAddresses[1] ?? 0
        return SimVFEngines(
            copyEngines: mine, bar1Address: size == 0 ? 0 : base + UInt64(vf) * size, bar1Size: size)
    }
}
