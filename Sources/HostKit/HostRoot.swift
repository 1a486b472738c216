import Foundation

/// One root-relative view of the host: every path vgpuctl reads or writes is derived from `path`.
///
/// The default root is `/` (a real host). `--root DIR` or `VGPUCTL_ROOT` point it at another
/// tree, such as one written by `vgpuctl sim create`. A root holding `.vgpuctl-sim.json` is a
/// simulated host.
public struct HostRoot: Sendable, Equatable, CustomStringConvertible {
    /// Absolute path of the root directory, without a trailing slash (except for `/`).
    public let path: String

    /// The name of the marker file that makes a root a simulated host.
    public static let simulationMarker = ".vgpuctl-sim.json"

    /// Creates a view of `path`. Relative paths are made absolute against the working directory.
    public init(_ path: String) {
        var p = path.isEmpty ? "/" : path
        if !p.hasPrefix("/") {
            p = FileManager.default.currentDirectoryPath + "/" + p
        }
        p = (p as NSString).standardizingPath
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        self.path = p
    }

    /// The real host.
    public static let system = HostRoot("/")

    public var description: String { path }

    /// Absolute path of `relative` (a path without leading slash) under the root.
    public func url(_ relative: String) -> String {
        let r = relative.hasPrefix("/") ? String(relative.dropFirst()) : relative
        return path == "/" ? "/" + r : path + "/" + r
    }

    /// Strips the root from an absolute path under it, giving the root-relative path.
    public func relative(_ absolute: String) -> String {
        if path == "/" { return absolute.hasPrefix("/") ? String(absolute.dropFirst()) : absolute }
        if absolute.hasPrefix(path + "/") { return String(absolute.dropFirst(path.count + 1)) }
        return absolute
    }

    // MARK: Well-known places (relative to the root)

    public static let pciDevices = "sys/bus/pci/devices"
    public static let pciDrivers = "sys/bus/pci/drivers"
    public static let pciBus = "sys/bus/pci"
    public static let iommuGroups = "sys/kernel/iommu_groups"
    public static let vfioDev = "dev/vfio"
    public static let egmClass = "sys/class/egm"
    public static let fwctlClass = "sys/class/fwctl"
    public static let mdevBus = "sys/class/mdev_bus"
    public static let stateDir = "var/lib/vgpuctl"
    public static let runDir = "run/vgpuctl"

    /// `sys/bus/pci/devices/<BDF>` relative to the root.
    public static func device(_ address: PCIAddress) -> String { "\(pciDevices)/\(address)" }

    /// `sys/bus/pci/devices/<BDF>/<file>` relative to the root.
    public static func deviceFile(_ address: PCIAddress, _ file: String) -> String {
        "\(pciDevices)/\(address)/\(file)"
    }

    /// `sys/bus/pci/drivers/<name>` relative to the root.
    public static func driver(_ name: String) -> String { "\(pciDrivers)/\(name)" }

    /// Checks that the root exists and looks like a host tree (it has `sys/bus/pci/devices`).
    ///
    /// Throws an invalid-input error naming the directory and what is missing.
    public func validate() throws(VGPUError) {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw .invalid(
                .hostRoot,
                "host root \(path) does not exist; pass an existing directory to --root (or VGPUCTL_ROOT), or create a simulated host with 'vgpuctl sim create \(path) --model NAME'"
            )
        }
        guard isDir.boolValue else {
            throw .invalid(.hostRoot, "host root \(path) is not a directory")
        }
        guard FileManager.default.fileExists(atPath: url(Self.pciDevices), isDirectory: &isDir), isDir.boolValue else {
            throw .invalid(
                .hostRoot,
                "\(path) is not a host tree: \(url(Self.pciDevices)) is missing; point --root at a host's root directory or at a tree made by 'vgpuctl sim create'"
            )
        }
    }

    /// The root chosen by `--root` (if given), else `VGPUCTL_ROOT` in `environment` (the
    /// process environment, which only the CLI edge reads), else `/`.
    public static func resolve(option: String?, environment: [String: String]) -> HostRoot {
        if let option, !option.isEmpty { return HostRoot(option) }
        if let env = environment["VGPUCTL_ROOT"], !env.isEmpty { return HostRoot(env) }
        return .system
    }
}
