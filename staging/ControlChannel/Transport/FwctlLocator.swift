import Foundation
import HostKit

/// A fwctl device as sysfs shows it: `sys/class/fwctl/fwctlN`, its `device` link to the parent
/// (a PCI function for nova-core and mlx5), and its node `dev/fwctl/fwctlN` (paths relative to
/// the host root).
public struct FwctlDevice: Sendable, Equatable, Codable {
    /// `fwctl0`.
    public var name: String
    /// The last component of the `device` link: a PCI address for PCI drivers.
    public var parent: String?
    /// The driver bound to the parent, when sysfs shows one.
    public var parentDriver: String?

    public var classDirectory: String { "\(HostRoot.fwctlClass)/\(name)" }
    public var node: String { "dev/fwctl/\(name)" }
}

/// Finds the fwctl device of a PCI function, or says which kernel feature is missing.
public enum FwctlLocator {
    /// Every fwctl device under `root`.
    public static func devices(root: HostRoot) -> [FwctlDevice] {
        let sysfs = SysfsReader(root: root)
        return sysfs.list(HostRoot.fwctlClass).filter { $0.hasPrefix("fwctl") }.map { name in
            let parent = sysfs.linkName("\(HostRoot.fwctlClass)/\(name)/device")
            return FwctlDevice(
                name: name, parent: parent, parentDriver: sysfs.linkName("\(HostRoot.fwctlClass)/\(name)/device/driver")
            )
        }
    }

    /// The fwctl device whose parent is `pci`.
    public static func device(for pci: PCIAddress, root: HostRoot) throws(ControlChannelError) -> FwctlDevice {
        if let d = devices(root: root).first(where: { $0.parent == pci.description }) { return d }
        throw .noFwctlDevice(pci, missing(pci, root: root))
    }

    /// Why `pci` has no fwctl device: the subsystem is missing, or no driver registered it.
    static func missing(_ pci: PCIAddress, root: HostRoot) -> String {
        let sysfs = SysfsReader(root: root)
        let head = "the kernel has no fwctl device for \(pci)"
        let release = sysfs.text("proc/sys/kernel/osrelease")?.trimmingCharacters(in: .whitespacesAndNewlines)
        let running = release.map { "; this kernel is \($0)" } ?? ""
        let dev = sysfs.device(pci)
        let novaCore =
            "nova-core's fwctl driver (FWCTL_DEVICE_TYPE_NOVA_CORE, from the vGPU patch series), which is not upstream yet"
        var bound = ""
        if let dev {
            bound = dev.driver.map { " (it is bound to \($0))" } ?? " (no driver is bound to it)"
            if dev.driver == "nvidia" {
                bound +=
                    "; NVIDIA's own driver offers no fwctl interface: its vGPU types are managed through its sysfs files (vgpuctl's vendor backend)"
            }
        }
        guard sysfs.exists(HostRoot.fwctlClass) else {
            return
                "\(head): \(root.url(HostRoot.fwctlClass)) does not exist, so this kernel has no fwctl subsystem (CONFIG_FWCTL, merged in Linux 6.15\(running)); vGPU management over fwctl also needs \(novaCore)\(bound)"
        }
        let others = devices(root: root).map { "\($0.name) for \($0.parent ?? "an unknown parent")" }
        let present =
            others.isEmpty
            ? "fwctl is present but has no devices" : "fwctl is present (\(others.joined(separator: ", ")))"
        return
            "\(head): \(present), and no fwctl driver has registered \(pci)\(bound); vGPU management over fwctl needs \(novaCore)"
    }
}
