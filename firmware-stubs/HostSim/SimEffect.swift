import Foundation
import HostKit
import SimGPU
import SystemPackage

/// One change a simulated control-file write makes to the tree. A write is decided first (reads
/// only), then its effects run in order. Every effect is idempotent: run again after a writer
/// died half-way through it (or after it), it completes the change and changes nothing more.
/// That is what lets ``SimulatedKernel`` finish a write its writer did not (see
/// ``SimPendingWrite``).
enum SimEffect: Codable, Sendable {
    /// Replace a small file's contents.
    case writeFile(path: String, text: String)
    /// Remove a file or link (if there).
    case removeFile(path: String)
    /// Bind a device to a driver.
    case attach(PCIAddress, driver: String)
    /// Unbind a device from the driver it had when the write was decided.
    case detach(PCIAddress, driver: String, dir: String, group: Int?)
    /// Create VF `index` of `pf` in IOMMU group `group`.
    case createVF(PCIAddress, index: Int, pf: PCIAddress, group: Int)
    /// Remove a VF (unbinding it first).
    case removeVF(PCIAddress, dir: String, driver: String?, group: Int?)
    /// Set the SR-IOV control and NumVFs registers in the PF's config space.
    case pfConfig(PCIAddress, numVFs: Int)
    /// Replace the simulated vGPU driver's book.
    case vgpuBook(SimVGPUDriver.State)
    /// Render the vGPU files of every VF of a PF bound to `nvidia` from the driver's book.
    case renderVGPU(PCIAddress)
    /// Create an mdev device's sysfs.
    case createMdev(uuid: String, parent: PCIAddress, typeDir: String, group: Int)
    /// Remove an mdev device's sysfs.
    case removeMdev(SimVGPUDriver.Device)
}

extension SimulatedKernel {
    /// Runs `effects` in order; the test hook (``SimEffectHook``), when set, may end the process
    /// with SIGKILL before one of them.
    func run(_ effects: [SimEffect], state: SimState) throws {
        for e in effects {
            if let hook = effectHook { hook.tick() }
            try run(e, state: state)
        }
    }

    func run(_ e: SimEffect, state: SimState) throws {
        switch e {
        case .writeFile(let path, let text):
            try fs.write(path, text)
        case .removeFile(let path):
            try fs.remove(path)
        case .attach(let a, let driver):
            try attach(a, driver: driver, state: state)
        case .detach(let a, let driver, let dir, let group):
            try detach(a, driver: driver, dir: dir, group: group, state: state)
        case .createVF(let vf, let index, let pf, let group):
            try createVF(vf, index: index, pf: pf, group: group, state: state)
        case .removeVF(let vf, let dir, let driver, let group):
            try removeVF(vf, dir: dir, driver: driver, group: group, state: state)
        case .pfConfig(let pf, let n):
            try setPFConfig(pf, numVFs: UInt16(truncatingIfNeeded: n))
        case .vgpuBook(let st):
            try vgpuDriver.save(st)
        case .renderVGPU(let pf):
            try renderVGPU(pf: pf, state: state)
        case .createMdev(let uuid, let parent, let typeDir, let group):
            try createMdevDevice(uuid, parent: parent, typeDir: typeDir, group: group)
        case .removeMdev(let d):
            try removeMdevDevice(d)
        }
    }
}
