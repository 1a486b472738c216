import Foundation
import Glibc

extension DeviceUsage {
    /// Collects the files of device `d` (see `DeviceUsage`) and its kernel users. `host` holds
    /// what is the same for every device of the host (read once per `users(of:)`).
    func target(_ d: PCIDevice, mounts: [UInt64: [String]], host: inout HostFacts?) -> Target {
        var t = Target()
        let a = d.address
        // Its VFIO group file; its VFIO cdevs are found by the walk (`vfio-dev/vfioN`).
        if let g = d.iommuGroup { insert("/dev/vfio/\(g)", char: nil, into: &t.paths, &t.ids) }
        // The canonical directory (sys/devices/...), so nodes and BARs are named as the kernel
        // does: from the device's link as read, or resolved when sys/bus/pci/devices/<BDF> is
        // no link.
        let top: (path: String, entries: [SysfsReader.Entry])
        if let path = d.canonicalPath, !d.entries.isEmpty {
            top = (path, d.entries)  // the listing the device was read from
        } else if let dir = d.canonicalPath.flatMap(sysfs.directory) ?? canonicalDir(a).flatMap(sysfs.directory) {
            top = (dir.path, dir.entries)
        } else {
            return t
        }
        walk(top.path, entries: top.entries, depth: 0, into: &t, mounts: mounts)
        for e in top.entries where Self.isResource(e.name) {
            t.bars.insert("/" + top.path + "/" + e.name)
        }
        if d.driver == "nvidia" {
            if host == nil { host = HostFacts(self) }
            if let host { addNVIDIA(a, host: host, into: &t) }
        }
        return t
    }

    /// `resource0` .. `resource5`, `resource0_wc`: the files that map a BAR.
    static func isResource(_ name: String) -> Bool {
        guard name.hasPrefix("resource"), name.count > 8 else { return false }
        let rest = name.dropFirst(8)
        let digits = rest.prefix { $0.isNumber }
        return !digits.isEmpty && (rest.count == digits.count || rest.dropFirst(digits.count) == "_wc")
    }

    /// The root-relative canonical sysfs directory of `a` (`sys/devices/pci0000:00/0000:00:06.0`).
    func canonicalDir(_ a: PCIAddress) -> String? {
        guard let real = realpath(root.url(HostRoot.device(a)), nil) else { return nil }
        defer { free(real) }
        let abs = String(cString: real)
        let rel = root.relative(abs)
        return rel.hasPrefix("/") ? nil : rel
    }

    /// Walks the device's own subtree (no links followed, child PCI functions skipped): every
    /// `dev` file is a node of the function; block nodes are checked for mounts and holders,
    /// `net/<if>` for an interface that is up. `entries` are `dir`'s (read once by the caller
    /// or here); the order of entries does not matter (the users are sorted at the end).
    func walk(
        _ dir: String, entries: [SysfsReader.Entry]? = nil, opened given: SysfsReader.Directory? = nil, depth: Int,
        into t: inout Target, mounts: [UInt64: [String]]
    ) {
        guard depth < 7 else { return }
        // Below the top, the directory is opened once (relative to its parent) and its files
        // are read relative to it.
        let opened = given ?? (entries == nil ? sysfs.directory(dir) : nil)
        let names = entries ?? opened?.entries ?? []
        let base = dir.lastIndex(of: "/").map { String(dir[dir.index(after: $0)...]) } ?? dir
        let hasDev = depth > 0 && names.contains(where: { $0.name == "dev" })
        // A VFIO cdev (`vfio-dev/vfioN` of the device itself) is opened as /dev/vfio/devices/vfioN.
        if hasDev, depth == 2, base.hasPrefix("vfio"), dir.hasSuffix("/vfio-dev/" + base) {
            insert("/dev/vfio/devices/\(base)", char: nil, into: &t.paths, &t.ids)
        }
        func text(_ n: String) -> String? { opened.map { $0.attribute(n) } ?? sysfs.text(dir + "/" + n) }
        func linkName(_ n: String) -> String? { opened.map { $0.linkName(n) } ?? sysfs.linkName(dir + "/" + n) }
        if hasDev, let dev = Self.parseDev(text("dev")) {
            let name = base
            let isBlock = dir.contains("/block/") || linkName("subsystem") == "block"
            t.ids.insert(isBlock ? .block(dev) : .char(dev))
            if isBlock {
                for m in mounts[dev] ?? [] {
                    t.kernelUsers.append(
                        DeviceUser(
                            kind: .kernel, certainty: .certain, pid: nil, command: "mount", file: "/dev/\(name)",
                            how: "is mounted at \(m)", advice: "unmount it (umount \(m)) first"))
                }
                for h in sysfs.list(dir + "/holders") {
                    t.kernelUsers.append(
                        DeviceUser(
                            kind: .kernel, certainty: .certain, pid: nil, command: h, file: "/dev/\(name)",
                            how: "is held by \(h)",
                            advice: "stop \(h) first (dmsetup remove, mdadm --stop, or the volume group)"))
                }
            }
        }
        if base == "net" {
            for ifname in names.map(\.name) {
                let flags = SysfsParse.hex(sysfs.text("\(dir)/\(ifname)/flags")) ?? 0
                let oper = sysfs.text("\(dir)/\(ifname)/operstate")?.trimmingCharacters(in: .whitespacesAndNewlines)
                if flags & 1 != 0 || oper == "up" {
                    t.kernelUsers.append(
                        DeviceUser(
                            kind: .kernel, certainty: .certain, pid: nil, command: "net", file: ifname,
                            how: "is up", advice: "take it down (ip link set \(ifname) down) first"))
                }
            }
        }
        for e in names where e.kind == .directory && !Self.skipInWalk(e.name) && PCIAddress(e.name) == nil {
            walk(dir + "/" + e.name, opened: opened?.child(e.name), depth: depth + 1, into: &t, mounts: mounts)
        }
    }

    /// Directories of a device that never hold its nodes (and are large on a real host).
    static func skipInWalk(_ name: String) -> Bool {
        name == "power" || name == "msi_irqs" || name == "holders" || name == "slaves" || name == "queue"
            || name == "mq" || name == "integrity" || name == "trace" || name == "statistics"
    }

    /// What NVIDIA's driver gives every GPU of the host alike, read once: the majors of
    /// `proc/devices` and the driver-wide nodes (`/dev/nvidiactl`, `/dev/nvidia-modeset`, UVM,
    /// the MIG config/monitor caps), which make a process a possible user of every GPU.
    struct HostFacts {
        var nvidiaMajor: UInt64
        var capsMajor: UInt64?
        var possiblePaths: Set<String> = []
        var possibleIDs: Set<FileID> = []

        init(_ usage: DeviceUsage) {
            nvidiaMajor = usage.charMajor("nvidia") ?? 195
            capsMajor = usage.charMajor("nvidia-caps")
            usage.insert("/dev/nvidiactl", char: (nvidiaMajor, 255), into: &possiblePaths, &possibleIDs)
            usage.insert("/dev/nvidia-modeset", char: (nvidiaMajor, 254), into: &possiblePaths, &possibleIDs)
            for uvm in ["/dev/nvidia-uvm", "/dev/nvidia-uvm-tools"] {
                usage.insert(uvm, char: nil, into: &possiblePaths, &possibleIDs)
            }
            for (kind, fallback) in [("config", UInt64(1)), ("monitor", UInt64(2))] {
                let text = usage.sysfs.text("proc/driver/nvidia/capabilities/mig/\(kind)") ?? ""
                let m = DeviceUsage.field(text, "DeviceFileMinor").flatMap { UInt64($0) } ?? fallback
                usage.insert(
                    "/dev/nvidia-caps/nvidia-cap\(m)", char: capsMajor.map { ($0, m) }, into: &possiblePaths,
                    &possibleIDs)
            }
        }
    }

    /// NVIDIA's nodes for device `a`: `/dev/nvidia<minor>`, its MIG instances' caps, and the
    /// driver-wide nodes as possible.
    func addNVIDIA(_ a: PCIAddress, host: HostFacts, into t: inout Target) {
        let info = sysfs.text("proc/driver/nvidia/gpus/\(a)/information") ?? ""
        if let minor = Self.field(info, "Device Minor"), let m = UInt64(minor) {
            insert("/dev/nvidia\(m)", char: (host.nvidiaMajor, m), into: &t.paths, &t.ids)
            for capMinor in migCaps("proc/driver/nvidia/capabilities/gpu\(m)/mig", depth: 0) {
                insert(
                    "/dev/nvidia-caps/nvidia-cap\(capMinor)", char: host.capsMajor.map { ($0, capMinor) },
                    into: &t.paths, &t.ids)
            }
        }
        t.possiblePaths.formUnion(host.possiblePaths)
        t.possibleIDs.formUnion(host.possibleIDs)
    }

    func insert(_ path: String, char: (UInt64, UInt64)?, into paths: inout Set<String>, _ ids: inout Set<FileID>) {
        paths.insert(path)
        if let id = idUnderRoot(path) { ids.insert(id) }
        if let (ma, mi) = char { ids.insert(.char(Self.devNumber(ma, mi))) }
    }

    /// `DeviceFileMinor:` of every file under a GPU's `capabilities/gpu<N>/mig` (its GPU and
    /// compute instances' `access` files).
    func migCaps(_ dir: String, depth: Int) -> [UInt64] {
        guard depth < 4 else { return [] }
        var out: [UInt64] = []
        for n in sysfs.list(dir) {
            let p = dir + "/" + n
            if let text = sysfs.text(p), let m = Self.field(text, "DeviceFileMinor").flatMap({ UInt64($0) }) {
                out.append(m)
            } else {
                out += migCaps(p, depth: depth + 1)
            }
        }
        return out
    }

    /// The value of `name:` in NVIDIA's `key: value` proc files.
    static func field(_ text: String, _ name: String) -> String? {
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":"), line[..<colon].trimmingCharacters(in: .whitespaces) == name
            else { continue }
            return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return nil
    }
}
