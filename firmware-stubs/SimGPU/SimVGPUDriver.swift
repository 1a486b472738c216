import Foundation
import HostKit
import SystemPackage
import VGPUTypes

/// How a simulated host offers vGPU types on its NVIDIA GPUs (`sim create --vgpu-interface`).
public enum SimVGPUInterface: String, Sendable, Codable, CaseIterable {
    /// NVIDIA's vendor-specific VFIO sysfs (vGPU 17+): `nvidia/creatable_vgpu_types` and
    /// `nvidia/current_vgpu_type` on each VF bound to `nvidia`.
    case vendor
    /// mdev (vGPU <= 16): `sys/class/mdev_bus/<VF>/mdev_supported_types`.
    case mdev
    /// The upstream control channel: a fwctl device per GPU, the firmware reached in-process
    /// (``SimVGPUFirmware``) until the stage-2 channel to gsp-stub exists.
    case upstream
    /// No vGPU interface: plain SR-IOV.
    case none
}

/// The simulated NVIDIA vGPU manager: its own book of which VF carries which type where, kept
/// in `.vgpuctl-sim-vgpu.json` beside the sim marker, and the rules it enforces. It is written
/// independently of vgpuctl's bookkeeping (VirtualFunctions) so that the two can be compared:
/// the driver enforces, vgpuctl plans.
///
/// Rules: one vGPU per VF; at most `maxInstances` of a type; a GPU holds MIG-backed or
/// time-sliced vGPUs, not both; without heterogeneous mode, time-sliced vGPUs share one frame
/// buffer size; an instance takes its type's placement units at the lowest free placement
/// (or the one asked for), its channels at the lowest free range aligned to their count, and
/// MIG compute slices.
public struct SimVGPUDriver {
    public let root: HostRoot
    public static let stateFile = ".vgpuctl-sim-vgpu.json"

    public init(root: HostRoot) { self.root = root }

    /// One vGPU as the driver keeps it.
    public struct Device: Codable, Sendable, Equatable {
        public var vf: Int
        public var typeID: Int
        public var placement: Int
        public var channelOffset: Int
        public var mdevUUID: String?
        public var mdevGroup: Int?
    }

    /// The driver's state, by PF address.
    public struct State: Codable, Sendable, Equatable {
        public var pfs: [String: PF] = [:]
        public struct PF: Codable, Sendable, Equatable {
            public var devices: [Device] = []
            /// Types taught with `ADD_TYPE` (upstream firmware); nil for vendor/mdev drivers,
            /// whose table is built in.
            public var addedTypes: [VGPUCatalog.VGPUType]?
            /// Regions released by a removed vGPU and not scrubbed yet (SimVGPUDriver+Scrub).
            public var scrubPending: [PendingScrub]?
        }
    }

    public func load() throws -> State {
        guard let data = FileManager.default.contents(atPath: root.url(Self.stateFile)) else { return State() }
        return try JSONDecoder().decode(State.self, from: data)
    }

    public func save(_ s: State) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try enc.encode(s), to: root.url(Self.stateFile))
    }

    /// Built-in catalogs by device id, read once per process (parsing them is not free).
    package nonisolated(unsafe) static var catalogCache: [UInt16: VGPUCatalog?] = [:]
    package static let cacheLock = NSLock()

    /// The GPU geometry and built-in type table of a simulated PF (by its device id).
    package func builtInCatalog(_ pf: PCIAddress, sim: SimState) -> VGPUCatalog? {
        guard let spec = sim.pfs[pf.description]?.spec else { return nil }
        let id = UInt16(truncatingIfNeeded: spec.deviceID.value)
        return Self.cacheLock.withLock {
            if let hit = Self.catalogCache[id] { return hit }
            let c = VGPUCatalogSet.builtInCatalog(forDevice: id)
            Self.catalogCache[id] = c
            return c
        }
    }

    /// The types the driver offers for `pf`: the built-in table (vendor, mdev) or what
    /// `ADD_TYPE` taught it (upstream).
    package func types(_ pf: PCIAddress, sim: SimState, state: State) -> [VGPUCatalog.VGPUType] {
        if sim.vgpuInterface == SimVGPUInterface.upstream.rawValue {
            return state.pfs[pf.description]?.addedTypes ?? []
        }
        return builtInCatalog(pf, sim: sim)?.types ?? []
    }

    /// What one decision needs, read once.
    package struct Context {
        package var gpu: VGPUCatalog.GPU
        package var types: [VGPUCatalog.VGPUType]
        package var numVFs: Int
        package var devices: [Device]
        package func type(_ d: Device) -> VGPUCatalog.VGPUType? { types.first { $0.id == d.typeID } }
    }

    package func context(_ pf: PCIAddress, sim: SimState, state: State) -> Context? {
        guard let gpu = builtInCatalog(pf, sim: sim)?.gpu else { return nil }
        return Context(
            gpu: gpu, types: types(pf, sim: sim, state: state),
            numVFs: SysfsReader(root: root).device(pf)?.sriov?.vfs.count ?? 0,
            devices: state.pfs[pf.description]?.devices ?? [])
    }

    /// Where an instance of `t` would go on VF `vf`, or why not.
    package enum Decision: Equatable {
        case fits(placement: Int, channelOffset: Int)
        case no(String)
    }

    package func decide(
        _ t: VGPUCatalog.VGPUType, vf: Int, _ c: Context, placement wanted: Int? = nil,
        channelOffset wantedChannels: Int? = nil
    ) -> Decision {
        let gpu = c.gpu
        guard vf >= 0, vf < c.numVFs, vf < gpu.vfSlots else { return .no("VF \(vf) does not exist") }
        let devs = c.devices
        if devs.contains(where: { $0.vf == vf }) { return .no("VF \(vf) has a vGPU") }
        if devs.filter({ $0.typeID == t.id }).count >= t.maxInstances { return .no("maximum instances") }
        for d in devs {
            guard let o = c.type(d) else { continue }
            if o.isMIG != t.isMIG { return .no("MIG and time-sliced vGPUs cannot share the GPU") }
            if !t.isMIG && !gpu.heterogeneous && o.framebufferMiB != t.framebufferMiB { return .no("homogeneous mode") }
        }
        if let mig = t.mig, let geo = gpu.mig {
            let used = devs.compactMap { c.type($0)?.mig?.computeSlices }.reduce(0, +)
            if used + mig.computeSlices > geo.computeSlices { return .no("compute slices") }
        }
        let taken: [Range<Int>] = devs.compactMap { d in
            c.type(d).map { d.placement..<(d.placement + $0.placementSize) }
        }
        let candidates = wanted.map { [$0] } ?? t.placements
        guard
            let p = candidates.first(where: { p in
                t.placements.contains(p) && p + t.placementSize <= gpu.placementUnits
                    && !taken.contains { $0.overlaps(p..<(p + t.placementSize)) }
            })
        else { return .no("no free placement") }
        let chans: [Range<Int>] = devs.compactMap { d in
            c.type(d).map { d.channelOffset..<(d.channelOffset + $0.channels) }
        }
        let offsets =
            wantedChannels.map { [$0] } ?? Array(stride(from: 0, through: gpu.channels - t.channels, by: t.channels))
        guard
            let ch = offsets.first(where: { o in
                o % t.channels == 0 && o + t.channels <= gpu.channels
                    && !chans.contains { $0.overlaps(o..<(o + t.channels)) }
            })
        else { return .no("no free channel range") }
        return .fits(placement: p, channelOffset: ch)
    }

    /// The ids of the types VF `vf` could take now, ascending.
    package func creatableIDs(vf: Int, pf: PCIAddress, sim: SimState, state: State) -> [Int] {
        guard let c = context(pf, sim: sim, state: state) else { return [] }
        return creatableIDs(vf: vf, c)
    }

    package func creatableIDs(vf: Int, _ c: Context) -> [Int] {
        c.types.filter {
            if case .fits = decide($0, vf: vf, c) { return true }
            return false
        }.map(\.id).sorted()
    }

    /// Adds a vGPU to the state (checked), returning the device.
    package func add(
        typeID: Int, vf: Int, pf: PCIAddress, sim: SimState, state: inout State,
        placement: Int? = nil, channelOffset: Int? = nil
    ) -> Result<Device, SimVGPUError> {
        guard let t = types(pf, sim: sim, state: state).first(where: { $0.id == typeID }) else {
            return .failure(SimVGPUError(errno: .invalidArgument, message: "unknown vGPU type id \(typeID)"))
        }
        guard let c = context(pf, sim: sim, state: state) else {
            return .failure(SimVGPUError(errno: .noSuchDevice, message: "no GPU geometry for \(pf)"))
        }
        switch decide(t, vf: vf, c, placement: placement, channelOffset: channelOffset) {
        case .no(let why):
            return .failure(
                SimVGPUError(errno: .invalidArgument, message: "\(t.name) is not creatable on VF \(vf): \(why)"))
        case .fits(let p, let c):
            let d = Device(vf: vf, typeID: typeID, placement: p, channelOffset: c)
            state.pfs[pf.description, default: .init()].devices.append(d)
            state.pfs[pf.description]?.devices.sort { $0.vf < $1.vf }
            return .success(d)
        }
    }
}

/// A refusal of the simulated driver, with the errno the kernel write returns.
public struct SimVGPUError: Error, Sendable, Equatable, CustomStringConvertible {
    public var errno: Errno
    public var message: String
    public var description: String { message }
}
