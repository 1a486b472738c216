import Foundation
import Glibc

extension DeviceUsage {
    /// Collects the files of device `a` (see `DeviceUsage`) and its kernel users. `host` holds
    /// what is the same for every device of the host (read once per `users(of:)`).
    func target(_ a: PCIAddress, mounts: [UInt64: [String]], host: inout HostFacts?) -> Target {
        var t = Target()
        for f in sysfs.vfioFiles(a) {
            t.paths.insert(f)
            if let id = idUnderRoot(f) { t.ids.insert(id) }
        }
        // The canonical directory (sys/devices/...), so nodes and BARs are named as the kernel does.
        guard let dir = canonicalDir(a) else { return t }
        let top = sysfs.entriesWithKinds(dir)
        walk(dir, entries: top, depth: 0, into: &t, mounts: mounts)
        for e in top where Self.isResource(e.name) {
            t.bars.insert("/" + dir + "/" + e.name)
        }
        if sysfs.linkName(HostRoot.deviceFile(a, "driver")) == "nvidia" {
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
        _ dir: String, entries: [(name: String, kind: SysfsReader.EntryKind)]? = nil, depth: Int,
        into t: inout Target, mounts: [UInt64: [String]]
    ) {
        guard depth < 7 else { return }
        let names = entries ?? sysfs.entriesWithKinds(dir)
        let base = dir.lastIndex(of: "/").map { String(dir[dir.index(after: $0)...]) } ?? dir
        if depth > 0, names.contains(where: { $0.name == "dev" }), let dev = Self.parseDev(sysfs.text(dir + "/dev")) {
            let name = base
            let isBlock = sysfs.linkName(dir + "/subsystem") == "block" || dir.contains("/block/")
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
            for (ifname, _) in names {
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
        for (n, kind) in names where kind == .directory && !Self.skipInWalk(n) && PCIAddress(n) == nil {
            walk(dir + "/" + n, depth: depth + 1, into: &t, mounts: mounts)
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
