import Foundation

/// A process that holds a VFIO file of a device open.
public struct VFIOHolder: Sendable, Equatable, Encodable, CustomStringConvertible {
    public var pid: Int
    /// `proc/<pid>/comm`.
    public var command: String
    /// The file it holds (`/dev/vfio/12` or `/dev/vfio/devices/vfio0`).
    public var file: String

    public init(pid: Int, command: String, file: String) {
        self.pid = pid
        self.command = command
        self.file = file
    }

    public var description: String { "pid \(pid) (\(command)) holds \(file)" }
}

extension SysfsReader {
    /// The VFIO files through which a device can be opened: its group's `/dev/vfio/<group>` and,
    /// with the cdev model, `/dev/vfio/devices/vfioX` (X from `vfio-dev/vfioX`). Paths are as
    /// the host sees them (absolute, not under the root).
    public func vfioFiles(_ a: PCIAddress) -> [String] {
        var files: [String] = []
        if let g = linkName(HostRoot.deviceFile(a, "iommu_group")) { files.append("/dev/vfio/\(g)") }
        for n in vfioCdevs(a) { files.append("/dev/vfio/devices/\(n)") }
        return files
    }

    /// The same for a device already read: its group from `iommuGroup` and, when its directory
    /// listing is at hand, no look into a `vfio-dev` it does not have.
    public func vfioFiles(_ d: PCIDevice) -> [String] {
        vfioFiles(d.address, iommuGroup: d.iommuGroup, entries: d.entries)
    }

    /// The same for a VF as a plan reads it.
    public func vfioFiles(_ vf: PCIFunctions.VF) -> [String] {
        vfioFiles(vf.address, iommuGroup: vf.iommuGroup, entries: vf.entries)
    }

    func vfioFiles(_ a: PCIAddress, iommuGroup: Int?, entries: [Entry]) -> [String] {
        guard let g = iommuGroup else { return vfioFiles(a) }
        var files = ["/dev/vfio/\(g)"]
        if entries.isEmpty || entries.contains(where: { $0.name == "vfio-dev" }) {
            for n in vfioCdevs(a) { files.append("/dev/vfio/devices/\(n)") }
        }
        return files
    }

    /// The device's VFIO cdevs (`vfioN`, opened as `/dev/vfio/devices/vfioN` with iommufd).
    /// Every VFIO device has `vfio-dev/vfioN` in sysfs; only a kernel with
    /// CONFIG_VFIO_DEVICE_CDEV gives it a `dev` attribute and the node (seen on Debian's 6.12
    /// and 7.2, which lack the cdev: Tests/RealKernel/OBSERVED.md).
    public func vfioCdevs(_ a: PCIAddress) -> [String] {
        let dir = HostRoot.deviceFile(a, "vfio-dev")
        return list(dir).filter { $0.hasPrefix("vfio") && exists("\(dir)/\($0)/dev") }.sorted()
    }

    /// Processes holding any of `files` open, found through `proc/*/fd` under the root.
    ///
    /// A group file held open means a VM (or another VFIO user) owns every device of the group.
    /// Unreadable `fd` directories (other users' processes when not root) are skipped, so run as
    /// root for a complete answer.
    public func holders(of files: [String]) -> [VFIOHolder] {
        guard !files.isEmpty else { return [] }
        let wanted = Set(files)
        return holders { wanted.contains($0) }
    }

    /// Processes holding a VFIO file (`/dev/vfio/...`: a group, a cdev, the container) open, in
    /// one pass over `proc`: what ``holders(of:)`` finds for any set of VFIO files is the part
    /// of this whose file is in the set.
    public func vfioHolders() -> [VFIOHolder] { holders { $0.hasPrefix("/dev/vfio/") } }

    /// Processes holding open a file whose path (as the root's host sees it) passes `wanted`,
    /// sorted by pid and file, each once.
    public func holders(where wanted: (String) -> Bool) -> [VFIOHolder] {
        var out: [VFIOHolder] = []
        for entry in list("proc") {
            guard let pid = Int(entry) else { continue }
            let fdDir = "proc/\(entry)/fd"
            for fd in list(fdDir) {
                guard let raw = link("\(fdDir)/\(fd)") else { continue }
                // A file under the root is the host's file of that path (as DeviceUsage sees it).
                let target =
                    root.path != "/" && raw.hasPrefix(root.path + "/") ? String(raw.dropFirst(root.path.count)) : raw
                guard wanted(target) else { continue }
                let comm = text("proc/\(entry)/comm")?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
                let h = VFIOHolder(pid: pid, command: comm, file: target)
                if !out.contains(h) { out.append(h) }
            }
        }
        return out.sorted { ($0.pid, $0.file) < ($1.pid, $1.file) }
    }

    /// Processes holding a VFIO file of device `a` open.
    public func vfioHolders(_ a: PCIAddress) -> [VFIOHolder] { holders(of: vfioFiles(a)) }
}
