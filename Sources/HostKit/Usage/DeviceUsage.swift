import Foundation
import Glibc

/// Who uses a PCI function, for any driver, from the kernel's own interfaces under the root.
///
/// What a function's files are:
/// - its VFIO group `/dev/vfio/<group>` and cdev (`vfio-dev/vfioX`);
/// - every character or block node of its sysfs subtree (each `dev` file gives `major:minor`:
///   DRM `card*`/`renderD*`, NVMe `nvme0`, `nvme0n1`, partitions, the VFIO cdev, ...);
/// - with NVIDIA's driver, `/dev/nvidia<minor>` (`Device Minor:` of
///   `proc/driver/nvidia/gpus/<BDF>/information`, major `nvidia` of `proc/devices`) and the
///   `/dev/nvidia-caps` nodes of its own MIG instances (`DeviceFileMinor:` of the files under
///   `proc/driver/nvidia/capabilities/gpu<minor>/mig/`);
/// - its BARs, `sys/devices/.../resourceN`, as they appear in `proc/*/maps`.
/// Driver-wide NVIDIA nodes (`/dev/nvidiactl`, `/dev/nvidia-uvm*`, `/dev/nvidia-modeset` and the
/// MIG config/monitor caps of `proc/driver/nvidia/capabilities/mig/`) make a process a
/// *possible* user of every GPU on the driver.
///
/// How an open file is matched (the same code for the real host, root `/`, and for a test or
/// simulated root): each `proc/<pid>/fd/N` is read as a link. Its target is taken as the host
/// sees it (the root's prefix stripped) and matched by path. When the target lies under the root,
/// the fd is also `stat`ed (following the link, as `/proc` links are followed to the open file)
/// and matched by identity: a character or block node by its device number (`st_rdev`, so
/// `/dev/disk/by-id/...` or a node made with `mknod` elsewhere still matches), any other file by
/// `(st_dev, st_ino)` (so a regular file standing for a device node under a test root matches).
/// A link pointing outside the root (a fabricated `proc` in a test tree) is matched by path only.
///
/// Cost: one pass over `proc/*/fd` (a `readlink` per fd, a `stat` per fd under the root) and,
/// when a device has BARs to look for, one read of `proc/*/maps` per process; plus a walk of each
/// asked device's sysfs subtree. Ask for all devices at once (`users(of:)` with a list).
public struct DeviceUsage: Sendable {
    public let sysfs: SysfsReader
    public var root: HostRoot { sysfs.root }

    public init(root: HostRoot) { sysfs = SysfsReader(root: root) }
    public init(_ sysfs: SysfsReader) { self.sysfs = sysfs }

    /// What identifies one open file.
    enum FileID: Hashable {
        case char(UInt64)
        case block(UInt64)
        case inode(dev: UInt64, ino: UInt64)
    }

    /// The files of one device, and the kernel users found while collecting them.
    struct Target {
        var paths: Set<String> = []
        var ids: Set<FileID> = []
        var possiblePaths: Set<String> = []
        var possibleIDs: Set<FileID> = []
        var bars: Set<String> = []
        var kernelUsers: [DeviceUser] = []
    }

    /// Users of one device.
    public func users(of a: PCIAddress) -> [DeviceUser] { users(of: [a])[a] ?? [] }

    /// Users of each device in `addresses`, from one pass over `proc`. Devices nobody uses map
    /// to an empty list.
    public func users(of addresses: [PCIAddress]) -> [PCIAddress: [DeviceUser]] {
        users(addresses.map { ($0, sysfs.device($0)) })
    }

    /// Users of each of `devices` (as ``SysfsReader/device(_:)`` read them: their IOMMU group,
    /// driver and canonical directory are not read again), from one pass over `proc`.
    public func users(of devices: [PCIDevice]) -> [PCIAddress: [DeviceUser]] {
        users(devices.map { ($0.address, $0) })
    }

    /// Users of each address, with its device as read (nil when it has no sysfs directory).
    func users(_ devices: [(PCIAddress, PCIDevice?)]) -> [PCIAddress: [DeviceUser]] {
        let mounts = mountedDevices()
        var targets: [PCIAddress: Target] = [:]
        var host: HostFacts?
        for (a, d) in devices { targets[a] = d.map { target($0, mounts: mounts, host: &host) } ?? Target() }
        var out: [PCIAddress: [DeviceUser]] = [:]
        for (a, _) in devices { out[a] = targets[a]?.kernelUsers ?? [] }
        // Inverted indexes, so each fd costs one lookup whatever the number of devices.
        var byPath: [String: [(PCIAddress, DeviceUser.Certainty)]] = [:]
        var byID: [FileID: [(PCIAddress, DeviceUser.Certainty)]] = [:]
        var byBar: [String: [PCIAddress]] = [:]
        for (a, t) in targets {
            for p in t.possiblePaths { byPath[p, default: []].append((a, .possible)) }
            for i in t.possibleIDs { byID[i, default: []].append((a, .possible)) }
            for p in t.paths { byPath[p, default: []].append((a, .certain)) }
            for i in t.ids { byID[i, default: []].append((a, .certain)) }
            for b in t.bars { byBar[b, default: []].append(a) }
        }
        for entry in sysfs.list("proc") {
            guard let pid = Int(entry) else { continue }
            var comm: String?
            func command() -> String {
                if let comm { return comm }
                let c = sysfs.text("proc/\(entry)/comm")?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
                comm = c
                return c
            }
            let fdDir = "proc/\(entry)/fd"
            for fd in sysfs.list(fdDir) {
                guard let raw = sysfs.link("\(fdDir)/\(fd)") else { continue }
                let (file, underRoot) = hostView(raw)
                var hits = byPath[file] ?? []
                if underRoot, let id = fileID(root.url("\(fdDir)/\(fd)")), let more = byID[id] { hits += more }
                // Certain before possible: the same file seen both ways counts as certain.
                var seen = Set<PCIAddress>()
                for (a, c) in hits.sorted(by: { $0.1 == .certain && $1.1 == .possible }) where seen.insert(a).inserted {
                    add(&out[a, default: []], process(pid, command(), file, how: "open", certainty: c))
                }
            }
            guard !byBar.isEmpty, let maps = sysfs.text("proc/\(entry)/maps") else { continue }
            for line in maps.split(separator: "\n") where line.contains("/resource") {
                guard let slash = line.firstIndex(of: "/") else { continue }
                let (file, _) = hostView(String(line[slash...]))
                for a in byBar[file] ?? [] {
                    add(&out[a, default: []], process(pid, command(), file, how: "mapped", certainty: .certain))
                }
            }
        }
        // A device certainly used by a process is not also "possibly" used by it.
        for (a, us) in out {
            let sure = Set(us.filter { $0.certainty == .certain }.compactMap(\.pid))
            out[a] = us.filter { $0.certainty == .certain || !sure.contains($0.pid ?? -1) }
                .sorted { ($0.pid ?? -1, $0.file, $0.how) < ($1.pid ?? -1, $1.file, $1.how) }
        }
        return out
    }

    func add(_ list: inout [DeviceUser], _ u: DeviceUser) { if !list.contains(u) { list.append(u) } }

    func process(_ pid: Int, _ comm: String, _ file: String, how: String, certainty: DeviceUser.Certainty) -> DeviceUser
    {
        // comm is cut at 15 bytes (TASK_COMM_LEN): nvidia-persistenced shows as "nvidia-persiste".
        if comm.hasPrefix("nvidia-persiste") {
            return DeviceUser(
                kind: .nvidiaDaemon, certainty: certainty, pid: pid, command: "nvidia-persistenced", file: file,
                how: how,
                advice:
                    "NVIDIA's persistence daemon holds every GPU; stop it (systemctl stop nvidia-persistenced) before handing a GPU over, and start it again after"
            )
        }
        let advice =
            certainty == .certain
            ? "stop that process (or the VM it runs) first"
            : "stop it first if it runs on this GPU (nvidia-smi --query-compute-apps=pid,gpu_bus_id names the GPU)"
        return DeviceUser(
            kind: .process, certainty: certainty, pid: pid, command: comm, file: file, how: how, advice: advice)
    }

    /// A link target or maps path as the host sees it, and whether it lies under the root.
    func hostView(_ path: String) -> (String, Bool) {
        if root.path == "/" { return (path, path.hasPrefix("/")) }
        if path.hasPrefix(root.path + "/") { return (String(path.dropFirst(root.path.count)), true) }
        return (path, false)
    }

    /// The identity of the file at absolute `path` (following links), or nil.
    func fileID(_ path: String) -> FileID? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        switch st.st_mode & S_IFMT {
        case S_IFCHR: return .char(UInt64(st.st_rdev))
        case S_IFBLK: return .block(UInt64(st.st_rdev))
        default: return .inode(dev: UInt64(st.st_dev), ino: UInt64(st.st_ino))
        }
    }

    /// The identity of the host file `hostPath` (`/dev/...`) under the root, or nil.
    func idUnderRoot(_ hostPath: String) -> FileID? { fileID(root.url(hostPath)) }

    /// `major:minor` as the kernel encodes a `dev_t` (glibc's `makedev`).
    static func devNumber(_ major: UInt64, _ minor: UInt64) -> UInt64 {
        ((major & 0xffff_f000) << 32) | ((major & 0xfff) << 8) | ((minor & 0xffff_ff00) << 12) | (minor & 0xff)
    }

    /// Parses a sysfs `dev` file (`195:0`).
    static func parseDev(_ text: String?) -> UInt64? {
        guard let t = text?.trimmingCharacters(in: .whitespacesAndNewlines) else { return nil }
        let p = t.split(separator: ":")
        guard p.count == 2, let ma = UInt64(p[0]), let mi = UInt64(p[1]) else { return nil }
        return devNumber(ma, mi)
    }

    /// `dev_t` of every mounted block device -> mount points (`proc/self/mountinfo`, field 3).
    func mountedDevices() -> [UInt64: [String]] {
        var out: [UInt64: [String]] = [:]
        for line in (sysfs.text("proc/self/mountinfo") ?? "").split(separator: "\n") {
            let f = line.split(separator: " ")
            guard f.count > 4, let dev = Self.parseDev(String(f[2])) else { continue }
            out[dev, default: []].append(String(f[4]))
        }
        return out
    }

    /// Major number of a character driver in `proc/devices` (nil when not listed).
    func charMajor(_ name: String) -> UInt64? {
        guard let t = sysfs.text("proc/devices") else { return nil }
        for line in t.split(separator: "\n") {
            if line.hasPrefix("Block") { break }
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            if f.count == 2, f[1] == name, let m = UInt64(f[0]) { return m }
        }
        return nil
    }
}
