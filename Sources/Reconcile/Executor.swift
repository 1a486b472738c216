import Foundation
import HostKit
import Passthrough
import VGPUTypes

/// Carries out plan steps on the host, each idempotently.
public struct Executor {
    public let root: HostRoot
    public let kernel: any Kernel
    public let backends: BackendProvider
    public let vfWaiter: @Sendable () throws(VGPUError) -> any VFWaiter
    public var timeout: Duration = .seconds(30)

    public init(
        root: HostRoot, kernel: any Kernel, backends: @escaping BackendProvider,
        vfWaiter: @escaping @Sendable () throws(VGPUError) -> any VFWaiter
    ) {
        self.root = root
        self.kernel = kernel
        self.backends = backends
        self.vfWaiter = vfWaiter
    }

    var sysfs: SysfsReader { SysfsReader(root: root) }
    var passthrough: PassthroughManager { PassthroughManager(root: root, kernel: kernel) }
    var vfs: VFController { VFController(root: root, kernel: kernel, waiterFactory: vfWaiter) }

    func backend(for vf: PCIAddress) throws(ReconcileError) -> any VGPUBackend {
        guard let pf = sysfs.device(vf)?.physfn ?? (sysfs.device(vf)?.sriov != nil ? vf : nil) else {
            throw .failed(.stepFailed, "\(vf) is not a VF (anymore); the plan expected one")
        }
        guard let pfDevice = sysfs.device(pf) else { throw .failed(.stepFailed, "\(pf) is gone; the plan expected it") }
        guard let b = try ReconcileError.wrapping(.backend, { try backends(pfDevice) }) else {
            throw .failed(.stepFailed, "\(pf) offers no vGPU interface")
        }
        return b
    }

    public func run(_ step: Action) throws(ReconcileError) {
        switch step {
        case .releasePassthrough(let a):
            guard
                try ReconcileError.wrapping(.passthroughState, { try PassthroughState.load(root) }).devices[
                    a.description] != nil
            else {
                return
            }
            // apply and recovery checked every disturbed function's users (refused unless --force).
            _ = try ReconcileError.wrapping(.stepFailed) { try passthrough.release(a, force: true) }
        case .assignPassthrough(let a):
            // apply checked every device's users before its first step (refused unless --force).
            _ = try ReconcileError.wrapping(.stepFailed) { try passthrough.assign(a, includeGroup: false, force: true) }
        case .bindHostDriver(let a):
            guard let d = sysfs.device(a) else { throw .failed(.stepFailed, "\(a) disappeared") }
            if d.driverOverride != nil { try write("", .driverOverride(a), d) }
            if let drv = d.driver, PassthroughManager.vfioDrivers.contains(drv) {
                try write(a.description, .unbind(driver: drv), d)
            }
            if sysfs.device(a)?.driver == nil { try write(a.description, .driversProbe, d) }
            if sysfs.device(a)?.driver == nil {
                throw .failed(
                    .stepFailed,
                    "\(a) did not bind to a host driver after drivers_probe; is its driver loaded? (check 'dmesg')")
            }
        case .clearType(let vf, _):
            guard sysfs.device(vf) != nil else { return }
            let b = try backend(for: vf)
            try ReconcileError.wrapping(.backend) {
                guard let pf = sysfs.device(vf)?.physfn,
                    try b.assignedTypes(pf: pf).contains(where: { $0.vf == vf && $0.type != nil })
                else { return }
                try b.clear(vf: vf)
            }
        case .disableVFs(let pf, _):
            _ = try ReconcileError.wrapping(.stepFailed) { try vfs.disable(pf, force: true) }
        case .enableVFs(let pf, let n, let autoprobe):
            _ = try ReconcileError.wrapping(.stepFailed) {
                try vfs.enable(pf, count: n, force: true, autoprobe: autoprobe, timeout: timeout)
            }
        case .assignType(let vf, let type, _):
            let b = try backend(for: vf)
            guard let pf = sysfs.device(vf)?.physfn else {
                throw .failed(.stepFailed, "\(vf) is not a VF; the plan expected one")
            }
            try ReconcileError.wrapping(.backend) {
                let current = try b.assignedTypes(pf: pf).first { $0.vf == vf }?.type
                if current == type { return }
                if current != nil { try b.clear(vf: vf) }
                try b.assign(type: type, vf: vf)
            }
        }
    }

    func write(_ value: String, _ file: ControlFile, _ d: PCIDevice) throws(ReconcileError) {
        do { try kernel.write(value, to: file) } catch {
            throw ReconcileError(.stepFailed, wrapping: error.explained(device: d))
        }
    }
}
