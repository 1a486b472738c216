import ControlChannel
import Foundation
import GSPMessaging
import HostKit
import HostSim
import SimGPU

/// gsp-stubs vgpuctl boots for one command on a simulated host (see ``ControlChannels``): each
/// in its own run directory under the temporary directory, with a ``StubHostLink`` naming the
/// host and this process as owner (the stub exits when its owner is gone). They are stopped
/// when their channel closes, and at the latest when vgpuctl exits.
enum EphemeralStubs {
    struct Stub {
        let sim: SimulatedGSP
        let base: String
        let pid: Int32
    }

    /// Boots a stub for `pf` of the simulated host `root`.
    static func start(env: HostEnvironment, pf: PCIAddress) throws -> Stub {
        let root = env.root
        let model = try SimulatedModel.gpuModel(root: root, pf: pf, models: env.models)
        let config = try PFConfig.read(root: root, address: pf)
        let plan = try VGPUBootPlan.make(
            pf: pf, config: config.config, sriovOffset: config.sriovOffset, mode: .auto,
            frameBufferBytes: (model.spec.memoryMiB?.value ?? 0) << 20,
            fspVGPUMode: try SimFSP(root: root).vgpuMode(pf))
        let launcher = try env.stubLauncher()
        let base = registry.newDirectory()
        let sim = env.gsp(pf, base: HostRoot(base))
        try StubHostLink(hostRoot: root.path, ownerPid: getpid()).write(into: sim.directory)
        let report: VGPUBootReport
        do {
            report = try sim.boot(
                plan: plan, model: model.name, launcher: launcher, receiveTimeout: .seconds(10))
        } catch {
            var e = error
            e.message = "starting gsp-stub for the control channel of \(pf) failed: \(e.message)"
            throw e
        }
        let stub = Stub(sim: sim, base: base, pid: report.stubPid ?? 0)
        registry.add(stub)
        return stub
    }

    /// Stops `stub` and removes its run directory.
    static func stop(_ stub: Stub) {
        guard registry.remove(stub) else { return }
        _ = stub.sim.stop(grace: .seconds(2))
        try? FileManager.default.removeItem(atPath: stub.base)
    }

    /// Stops every stub still running (at exit).
    static func stopAll() {
        for s in registry.all() { stop(s) }
    }

    static let registry = Registry()

    /// The stubs this process started.
    final class Registry: @unchecked Sendable {
        private let lock = NSLock()
        private var stubs: [String: Stub] = [:]
        private var counter = 0
        private var installed = false

        func newDirectory() -> String {
            lock.withLock {
                counter += 1
                let tmp = NSTemporaryDirectory().hasSuffix("/") ? NSTemporaryDirectory() : NSTemporaryDirectory() + "/"
                return tmp + "vgpuctl-stubs/\(getpid())-\(counter)"
            }
        }

        func add(_ s: Stub) {
            lock.withLock {
                stubs[s.base] = s
                if !installed {
                    installed = true
                    atexit { EphemeralStubs.stopAll() }
                }
            }
        }

        func remove(_ s: Stub) -> Bool { lock.withLock { stubs.removeValue(forKey: s.base) != nil } }

        func all() -> [Stub] { lock.withLock { Array(stubs.values) } }
    }
}
