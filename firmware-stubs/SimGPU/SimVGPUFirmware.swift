import Foundation
import HostKit
import SystemPackage
import VGPUTypes

/// The upstream plan's vGPU management commands, played by a simulated host's firmware over
/// the simulated driver's state (`.vgpuctl-sim-vgpu.json`).
///
/// Stand-in until stage 2 exists: then these commands travel over the control channel (fwctl, or
/// the GSP queues to gsp-stub) and gsp-stub answers them. The semantics are the firmware's: it
/// starts knowing no type (`ADD_TYPE` teaches it), it refuses an assignment that does not fit,
/// and it reports what each VF carries.
public struct SimVGPUFirmware {
    public let root: HostRoot
    public let pf: PCIAddress
    /// The host's sim state, read once (it changes only when the host is re-created).
    private let cache = Cache()
    private final class Cache { var sim: SimState? }

    public init(root: HostRoot, pf: PCIAddress) {
        self.root = root
        self.pf = pf
    }

    package var driver: SimVGPUDriver { SimVGPUDriver(root: root) }

    package func sim() throws(SimVGPUError) -> SimState {
        if let s = cache.sim { return s }
        do {
            let s = try SimState.load(root)
            guard s.vgpuInterface == SimVGPUInterface.upstream.rawValue, s.pfs[pf.description] != nil else {
                throw SimVGPUError(
                    errno: .noSuchDevice,
                    message:
                        "\(pf) has no simulated vGPU firmware (the host was not created with --vgpu-interface upstream)"
                )
            }
            cache.sim = s
            return s
        } catch let e as SimVGPUError {
            throw e
        } catch {
            throw SimVGPUError(errno: .ioError, message: "\(root.path): \(error)")
        }
    }

    package func state() throws(SimVGPUError) -> SimVGPUDriver.State {
        do { return try driver.load() } catch {
            throw SimVGPUError(errno: .ioError, message: "\(root.url(SimVGPUDriver.stateFile)): \(error)")
        }
    }

    package func save(_ s: SimVGPUDriver.State) throws(SimVGPUError) {
        do { try driver.save(s) } catch {
            throw SimVGPUError(errno: .ioError, message: "cannot save the firmware state: \(error)")
        }
    }

    /// `ADD_TYPE`: learns (or replaces) a type. Refused while a VF carries the type.
    public func addType(_ t: VGPUCatalog.VGPUType) throws(SimVGPUError) {
        _ = try sim()
        var s = try state()
        var rec = s.pfs[pf.description] ?? .init()
        if rec.devices.contains(where: { $0.typeID == t.id }), rec.addedTypes?.first(where: { $0.id == t.id }) != t {
            throw SimVGPUError(
                errno: .resourceBusy, message: "type id \(t.id) is in use by a VF; it cannot be redefined")
        }
        var types = rec.addedTypes ?? []
        types.removeAll { $0.id == t.id }
        types.append(t)
        rec.addedTypes = types.sorted { $0.id < $1.id }
        s.pfs[pf.description] = rec
        try save(s)
    }

    /// `QUERY_SUPPORTED`.
    public func querySupported() throws(SimVGPUError) -> [Int] {
        _ = try sim()
        return (try state().pfs[pf.description]?.addedTypes ?? []).map(\.id)
    }

    /// `QUERY_CREATABLE`.
    public func queryCreatable(vf: Int) throws(SimVGPUError) -> [Int] {
        let sim = try sim()
        return driver.creatableIDs(vf: vf, pf: pf, sim: sim, state: try state())
    }

    /// `ASSIGN_TYPE`.
    public func assignType(_ typeID: Int, vf: Int, placement: Int?, channelOffset: Int?) throws(SimVGPUError) {
        let sim = try sim()
        var s = try state()
        if case .failure(let e) = driver.add(
            typeID: typeID, vf: vf, pf: pf, sim: sim, state: &s, placement: placement, channelOffset: channelOffset)
        {
            throw e
        }
        try save(s)
    }

    /// `DEASSIGN_TYPE`.
    public func deassignType(vf: Int) throws(SimVGPUError) {
        let sim = try sim()
        var s = try state()
        try driver.release(vf: vf, pf: pf, sim: sim, state: &s)
        try save(s)
    }

    /// `QUERY_PROPERTIES`.
    public func queryProperties(_ typeID: Int) throws(SimVGPUError) -> VGPUCatalog.VGPUType {
        _ = try sim()
        guard let t = try state().pfs[pf.description]?.addedTypes?.first(where: { $0.id == typeID }) else {
            throw SimVGPUError(errno: .invalidArgument, message: "unknown vGPU type id \(typeID)")
        }
        return t
    }

    /// MiB per placement unit of the GPU (0 when its geometry is unknown).
    public var unitMiB: Int {
        guard let s = try? sim() else { return 0 }
        return driver.builtInCatalog(pf, sim: s)?.gpu.unitMiB ?? 0
    }

    /// `QUERY_ASSIGNED_VF`: (type id, placement, channel offset), nil when the VF has no type.
    public func queryAssignedVF(_ vf: Int) throws(SimVGPUError) -> (typeID: Int, placement: Int, channelOffset: Int)? {
        _ = try sim()
        guard let d = try state().pfs[pf.description]?.devices.first(where: { $0.vf == vf }) else { return nil }
        return (d.typeID, d.placement, d.channelOffset)
    }
}
