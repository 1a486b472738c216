import Foundation
import SystemPackage

/// A kernel control file vgpuctl may write. Reads are plain file reads; every write goes through
/// a ``Kernel`` so that a simulated host can apply the same semantics the real kernel has.
public enum ControlFile: Sendable, Equatable, CustomStringConvertible {
    /// `sys/bus/pci/devices/<BDF>/sriov_numvfs`
    case sriovNumVFs(PCIAddress)
    /// `sys/bus/pci/devices/<BDF>/sriov_drivers_autoprobe`
    case sriovDriversAutoprobe(PCIAddress)
    /// `sys/bus/pci/devices/<BDF>/driver_override`
    case driverOverride(PCIAddress)
    /// `sys/bus/pci/drivers/<driver>/unbind`
    case unbind(driver: String)
    /// `sys/bus/pci/drivers/<driver>/bind`
    case bind(driver: String)
    /// `sys/bus/pci/drivers_probe`
    case driversProbe
    /// `sys/bus/pci/devices/<VF>/nvidia/current_vgpu_type` (NVIDIA vendor VFIO, vGPU 17+)
    case currentVGPUType(PCIAddress)
    /// `sys/class/mdev_bus/<parent>/mdev_supported_types/<type>/create`
    case mdevCreate(parent: PCIAddress, type: String)
    /// `sys/bus/mdev/devices/<uuid>/remove`
    case mdevRemove(uuid: String)

    /// The file's path relative to the host root.
    public var path: String {
        switch self {
        case .sriovNumVFs(let a): HostRoot.deviceFile(a, "sriov_numvfs")
        case .sriovDriversAutoprobe(let a): HostRoot.deviceFile(a, "sriov_drivers_autoprobe")
        case .driverOverride(let a): HostRoot.deviceFile(a, "driver_override")
        case .unbind(let d): HostRoot.driver(d) + "/unbind"
        case .bind(let d): HostRoot.driver(d) + "/bind"
        case .driversProbe: HostRoot.pciBus + "/drivers_probe"
        case .currentVGPUType(let a): HostRoot.deviceFile(a, "nvidia/current_vgpu_type")
        case .mdevCreate(let p, let t): "\(HostRoot.mdevBus)/\(p)/mdev_supported_types/\(t)/create"
        case .mdevRemove(let u): "sys/bus/mdev/devices/\(u)/remove"
        }
    }

    public var description: String { path }
}

/// Writes to kernel control files.
///
/// The real implementation writes the file under the host root and reports the errno the kernel
/// returned; the simulated one (in HostSim) applies Linux's semantics to a tree on disk and
/// returns the same errnos. Callers turn ``KernelError`` into sentences.
public protocol Kernel: Sendable {
    /// Writes `value` (without a trailing newline; the kernel side strips one) to `file`.
    func write(_ value: String, to file: ControlFile) throws(KernelError)
}

/// The real kernel: `open(2)` + `write(2)` of the control file under the root.
public struct SysfsKernel: Kernel {
    public let root: HostRoot

    public init(root: HostRoot) { self.root = root }

    public func write(_ value: String, to file: ControlFile) throws(KernelError) {
        let path = FilePath(root.url(file.path))
        do {
            let fd = try FileDescriptor.open(path, .writeOnly, retryOnInterrupt: true)
            defer { try? fd.close() }
            let bytes = Array((value + "\n").utf8)
            let n = try bytes.withUnsafeBytes { try fd.write($0) }
            // sysfs stores take the whole buffer or fail; a short write is reported as EIO.
            if n != bytes.count { throw Errno.ioError }
        } catch let e as Errno {
            throw KernelError(errno: e, path: file.path, value: value)
        } catch {
            throw KernelError(errno: .ioError, path: file.path, value: value)
        }
    }
}

/// A kernel that records every write and forwards it to another kernel. Used by tests and
/// benchmarks to count writes (a converged apply must perform none).
public final class RecordingKernel: Kernel, @unchecked Sendable {
    private let lock = NSLock()
    private var _writes: [(ControlFile, String)] = []
    public let next: any Kernel

    public init(forwardingTo next: any Kernel) { self.next = next }

    /// Every write attempted so far, in order, as (file, value).
    public var writes: [(ControlFile, String)] { lock.withLock { _writes } }

    public func write(_ value: String, to file: ControlFile) throws(KernelError) {
        lock.withLock { _writes.append((file, value)) }
        try next.write(value, to: file)
    }
}
