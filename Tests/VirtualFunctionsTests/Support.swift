import Foundation
import HostKit
import HostSim
import SimGPU
import TestSupport
import Testing
import VGPUTypes
import VirtualFunctions

/// Shared pieces of the stage-3 tests.
enum VF {
    static let h100 = PCIAddress("0000:18:00.0")!
    static let otherH100 = PCIAddress("0000:19:00.0")!

    /// A fresh simulated host with the given vGPU interface.
    static func host(_ model: String = "h100x8", _ iface: SimVGPUInterface) throws -> HostRoot {
        let dir = TestSupport.tempDir("vf-\(model)-\(iface.rawValue)") + "/host"
        _ = try SimHostBuilder.create(at: dir, model: model, vgpuInterface: iface)
        return HostRoot(dir)
    }

    /// Runs the built vgpuctl against `root` (`environment` added to this process's).
    static func run(_ root: HostRoot, _ args: [String], environment: [String: String?] = [:]) throws
        -> TestSupport.Result
    {
        try TestSupport.vgpuctl(["--root", root.path] + args, environment: environment)
    }

    static func json(_ r: TestSupport.Result) throws -> [String: Any] {
        let o = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8))
        return o as? [String: Any] ?? [:]
    }

    /// The built-in catalogs.
    static func catalogs() throws -> VGPUCatalogSet { try VGPUCatalogSet.builtIn() }

    static func catalog(_ name: String) throws -> VGPUCatalog {
        try #require(try catalogs().catalogs.first { $0.name == name })
    }

    /// Enables every VF of `pf` through the simulated kernel (nvidia probing them when asked).
    static func enable(_ root: HostRoot, _ pf: PCIAddress, autoprobe: Bool) throws {
        let c = VFController(root: root, kernel: SimulatedKernel(root: root), waiterFactory: { SysfsVFWaiter() })
        let total = try #require(SysfsReader(root: root).device(pf)?.sriov?.totalVFs)
        _ = try c.enable(pf, count: total, force: false, autoprobe: autoprobe, timeout: .seconds(5))
    }

    /// The backend of `pf`, with the simulated firmware as the upstream channel.
    static func backend(_ root: HostRoot, _ pf: PCIAddress = h100) throws -> any VGPUBackend {
        try VGPUBackends.detect(
            root: root, kernel: SimulatedKernel(root: root), pf: pf,
            channels: { (p: PCIAddress) throws(VirtualFunctionsError) -> (any VGPUControlChannel)? in
                TestFirmwareChannel(firmware: SimVGPUFirmware(root: root, pf: p))
            })
    }

    static func typed(_ root: HostRoot, _ pf: PCIAddress = h100) throws -> TypedVFBackend {
        try #require(try backend(root, pf) as? TypedVFBackend)
    }
}

/// The upstream commands carried to the simulated firmware in-process (the CLI has the same
/// adapter; stage 2 will replace both with the control channel).
struct TestFirmwareChannel: VGPUControlChannel {
    let firmware: SimVGPUFirmware

    func run<T>(_ body: () throws(SimVGPUError) -> T) throws(VirtualFunctionsError) -> T {
        do { return try body() } catch { throw .failed(.controlChannel, "firmware: \(error.message)") }
    }

    func addType(_ type: VGPUCatalog.VGPUType) throws(VirtualFunctionsError) {
        try run { () throws(SimVGPUError) in try firmware.addType(type) }
    }
    func querySupported() throws(VirtualFunctionsError) -> [Int] {
        try run { () throws(SimVGPUError) in try firmware.querySupported() }
    }
    func queryCreatable(vf: Int) throws(VirtualFunctionsError) -> [Int] {
        try run { () throws(SimVGPUError) in try firmware.queryCreatable(vf: vf) }
    }
    func assignType(_ typeID: Int, vf: Int, placement: Int?, channelOffset: Int?) throws(VirtualFunctionsError) {
        try run { () throws(SimVGPUError) in
            try firmware.assignType(typeID, vf: vf, placement: placement, channelOffset: channelOffset)
        }
    }
    func deassignType(vf: Int) throws(VirtualFunctionsError) {
        try run { () throws(SimVGPUError) in try firmware.deassignType(vf: vf) }
    }
    func queryProperties(_ typeID: Int) throws(VirtualFunctionsError) -> VGPUCatalog.VGPUType {
        try run { () throws(SimVGPUError) in try firmware.queryProperties(typeID) }
    }
    func queryAssignedVF(_ vf: Int) throws(VirtualFunctionsError) -> VFAssignmentReport? {
        try run { () throws(SimVGPUError) -> VFAssignmentReport? in
            guard let a = try firmware.queryAssignedVF(vf) else { return nil }
            let t = try firmware.queryProperties(a.typeID)
            return VFAssignmentReport(
                vf: vf, typeID: a.typeID, placement: a.placement, framebufferOffsetMiB: a.placement * firmware.unitMiB,
                framebufferMiB: t.framebufferMiB, channelOffset: a.channelOffset, channels: t.channels)
        }
    }
}
