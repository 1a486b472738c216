import Foundation
import HostKit
import Yams

/// Reads host config files, with errors that name `file:line:column` and the offending key.
///
/// vgpuctl's format:
/// ```yaml
/// version: 1
/// configs:
///   default:
///     - select: {address: "0000:18:00.0"}      # or {deviceID: "10de:2330"}, {serial: "..."}, all
///       mode: vgpu
///       vfs: 8                                  # optional: default = sum of the types and guests
///       types: {H100XM-10C: 8}                  # or per guest: {H100XM-10C: {vm-a: 2, vm-b: 6}}
///       guests: {vm-c: 1}                       # optional: untyped VFs for named guests
///       vfioHandoff: false                      # optional: bind untyped VFs to vfio-pci
///     - select: all
///       mode: host                              # or passthrough
/// ```
/// NVIDIA vgpu-device-manager's format (`version: v1`, `vgpu-configs: NAME: [{devices: all |
/// [indices], device-filter: "0x233010DE" | [...], vgpu-devices: {TYPE: count}}]`) is accepted
/// as it is.
public enum HostConfigParser {
    /// The configs a file defines, by name, in file order.
    public static func load(path: String) throws(ReconcileError) -> [HostConfig] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .invalid(
                .badConfig,
                "cannot read host config \(path): \(FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file")"
            )
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw .invalid(.badConfig, "\(path):1:1: not UTF-8 text")
        }
        return try parse(text, file: path)
    }

    /// Loads one config: `name`, or the only one, or `default`.
    public static func load(path: String, config name: String?) throws(ReconcileError) -> HostConfig {
        let all = try load(path: path)
        if let name {
            guard let c = all.first(where: { $0.name == name }) else {
                throw .invalid(
                    .badConfig, "\(path): no config named '\(name)'; it has: \(all.map(\.name).joined(separator: ", "))"
                )
            }
            return c
        }
        if all.count == 1 { return all[0] }
        if let d = all.first(where: { $0.name == "default" }) { return d }
        throw .invalid(
            .badConfig,
            "\(path) has several configs (\(all.map(\.name).joined(separator: ", "))); choose one with -c NAME")
    }

    public static func parse(_ text: String, file: String) throws(ReconcileError) -> [HostConfig] {
        let root: Node
        do {
            guard let n = try Yams.compose(yaml: text) else {
                throw ReconcileError.invalid(.badConfig, "\(file):1:1: the file is empty")
            }
            root = n
        } catch let e as ReconcileError {
            throw e
        } catch let e as YamlError {
            throw .invalid(.badConfig, describe(e, file: file))
        } catch {
            throw .invalid(.badConfig, "\(file): \(error)")
        }
        let p = Parser(file: file)
        guard let top = root.mapping else {
            throw p.error(root, "the top level must be a mapping with 'version' and 'configs' (or 'vgpu-configs')")
        }
        let version = top["version"]
        if version?.string == "v1" || top["vgpu-configs"] != nil {
            return try p.deviceManagerFile(top, root)
        }
        return try p.ownFile(top, root)
    }

    static func describe(_ e: YamlError, file: String) -> String {
        switch e {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
            .composer(_, let problem, let mark, _):
            return "\(file):\(mark.line):\(mark.column): YAML syntax error: \(problem)"
        case .reader(let problem, let offset, _, let yaml):
            // The reader reports a byte offset (libyaml counts bytes): line and column from it.
            let bytes = Array(yaml.utf8.prefix(max(0, offset ?? 0)))
            let line = bytes.filter { $0 == UInt8(ascii: "\n") }.count + 1
            let column = bytes.count - (bytes.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0) + 1
            return "\(file):\(line):\(column): YAML error: \(problem)"
        case .duplicatedKeysInMapping(let keys, let context):
            // Yams marks the first of the duplicates; the second is the one to fix.
            let key = keys.sorted().first ?? "?"
            let first = context.mark
            let second = repeatedKey(key, after: first, in: context.text)
            let at = second.map { "\($0.line):\($0.column)" } ?? "\(first.line):\(first.column)"
            return
                "\(file):\(at): duplicate key '\(key)' in a mapping (first at line \(first.line), column \(first.column)); a key may appear once"
        default:
            return "\(file): YAML error: \(e)"
        }
    }

    /// Where `key` appears again after its first place `first` (1-based): the next line that
    /// has it at the same column (block mappings), else later on the same line (flow mappings).
    static func repeatedKey(_ key: String, after first: Mark, in text: String) -> (line: Int, column: Int)? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let forms = [key + ":", "\"\(key)\":", "'\(key)':"]
        let col = first.column - 1
        for i in first.line..<lines.count {
            let l = Array(lines[i])
            guard col < l.count else { continue }
            let rest = String(l[col...])
            if forms.contains(where: { rest.hasPrefix($0) }) { return (i + 1, first.column) }
        }
        if first.line - 1 < lines.count {
            let l = lines[first.line - 1]
            for f in forms {
                var searchFrom = l.startIndex
                var seen = 0
                while let r = l.range(of: f, range: searchFrom..<l.endIndex) {
                    seen += 1
                    if seen == 2 { return (first.line, l.distance(from: l.startIndex, to: r.lowerBound) + 1) }
                    searchFrom = r.upperBound
                }
            }
        }
        return nil
    }

    struct Parser {
        let file: String

        func loc(_ n: Node) -> String {
            guard let m = n.mark else { return file }
            return "\(file):\(m.line):\(m.column)"
        }

        func error(_ n: Node, _ what: String) -> ReconcileError { .invalid(.badConfig, "\(loc(n)): \(what)") }

        /// The key node of `key` in mapping `m` (for messages that point at the key).
        func keyNode(_ m: Node.Mapping, _ key: String) -> Node? { m.keys.first { $0.string == key } }

        func checkKeys(_ m: Node.Mapping, allowed: Set<String>, context: String) throws(ReconcileError) {
            for k in m.keys {
                guard let s = k.string, allowed.contains(s) else {
                    throw error(
                        k,
                        "unknown key '\(k.string ?? "?")' in \(context); expected one of: \(allowed.sorted().joined(separator: ", "))"
                    )
                }
            }
        }

        func int(_ n: Node, _ what: String, min: Int = 0) throws(ReconcileError) -> Int {
            guard let s = n.scalar?.string, let v = Int(s), v >= min else {
                throw error(
                    n,
                    "'\(what)' must be a whole number\(min > 0 ? " of at least \(min)" : " (0 or more)"), not '\(n.scalar?.string ?? "a \(kind(n))")'"
                )
            }
            return v
        }

        func kind(_ n: Node) -> String {
            switch n {
            case .mapping: "mapping"
            case .sequence: "list"
            case .scalar: "scalar"
            case .alias: "alias"
            }
        }

        // MARK: vgpuctl's own format

        func ownFile(_ top: Node.Mapping, _ root: Node) throws(ReconcileError) -> [HostConfig] {
            try checkKeys(top, allowed: ["version", "configs"], context: "the top level")
            guard let v = top["version"] else {
                throw error(
                    root, "missing key 'version' (use 'version: 1', or 'version: v1' for a vgpu-device-manager file)")
            }
            guard v.string == "1" else {
                throw error(
                    v,
                    "unsupported version '\(v.string ?? "?")'; this vgpuctl reads version 1 (and vgpu-device-manager's v1)"
                )
            }
            guard let configs = top["configs"] else { throw error(root, "missing key 'configs'") }
            guard let cm = configs.mapping, !cm.isEmpty else {
                throw error(configs, "'configs' must be a mapping of config names to lists of rules")
            }
            var out: [HostConfig] = []
            for (k, v) in cm {
                guard let name = k.string, !name.isEmpty else { throw error(k, "a config name must be a string") }
                guard let seq = v.sequence else {
                    throw error(v, "config '\(name)' must be a list of rules (- select: ..., mode: ...)")
                }
                var rules: [HostConfig.Rule] = []
                for item in seq { rules.append(try ownRule(item)) }
                out.append(HostConfig(file: file, name: name, rules: rules))
            }
            return out
        }

        func ownRule(_ n: Node) throws(ReconcileError) -> HostConfig.Rule {
            guard let m = n.mapping else { throw error(n, "a rule must be a mapping with 'select' and 'mode'") }
            try checkKeys(m, allowed: ["select", "mode", "vfs", "types", "guests", "vfioHandoff"], context: "a rule")
            guard let sel = m["select"] else { throw error(n, "missing key 'select' in a rule") }
            guard let modeNode = m["mode"] else {
                throw error(n, "missing key 'mode' in a rule (passthrough, vgpu or host)")
            }
            let selector = try ownSelector(sel)
            let mode: HostConfig.Mode
            switch modeNode.string {
            case "passthrough", "host":
                for k in ["vfs", "types", "guests", "vfioHandoff"] {
                    if let kn = keyNode(m, k) {
                        throw error(kn, "'\(k)' only goes with 'mode: vgpu', not 'mode: \(modeNode.string ?? "")'")
                    }
                }
                mode = modeNode.string == "host" ? .host : .passthrough
            case "vgpu":
                let vfs = try m["vfs"].map { n throws(ReconcileError) in try int(n, "vfs") }
                var types: [HostConfig.TypeRequest] = []
                if let t = m["types"] {
                    guard let tm = t.mapping else {
                        throw error(t, "'types' must map type names to counts, e.g. {H100XM-10C: 8}")
                    }
                    for (tk, tv) in tm {
                        guard let name = tk.string, !name.isEmpty else {
                            throw error(tk, "a type name must be a string")
                        }
                        if let per = tv.mapping {
                            for (gk, gv) in per {
                                guard let guest = gk.string, !guest.isEmpty else {
                                    throw error(gk, "a guest name must be a string")
                                }
                                types.append(
                                    .init(type: name, count: try int(gv, "\(name).\(guest)", min: 1), guest: guest))
                            }
                        } else {
                            types.append(.init(type: name, count: try int(tv, name, min: 1)))
                        }
                    }
                }
                let handoff: Bool
                if let h = m["vfioHandoff"] {
                    guard let b = h.bool else { throw error(h, "'vfioHandoff' must be true or false") }
                    handoff = b
                } else {
                    handoff = false
                }
                // Untyped VFs for named guests (generic SR-IOV hand-off): {vm-a: 1, vm-b: 2}.
                var guestVFs: [HostConfig.GuestVFs] = []
                if let g = m["guests"] {
                    guard let gm = g.mapping else {
                        throw error(g, "'guests' must map guest names to VF counts, e.g. {vm-a: 1, vm-b: 2}")
                    }
                    for (gk, gv) in gm {
                        guard let guest = gk.string, !guest.isEmpty else {
                            throw error(gk, "a guest name must be a string")
                        }
                        guestVFs.append(.init(guest: guest, count: try int(gv, "guests.\(guest)", min: 1)))
                    }
                }
                var spec = HostConfig.VGPUSpec(vfs: vfs, types: types, vfioHandoff: handoff)
                spec.guestVFs = guestVFs
                let asked = spec.types.reduce(0, { $0 + $1.count }) + guestVFs.reduce(0) { $0 + $1.count }
                if let vfs, let vfsNode = m["vfs"], asked > vfs {
                    throw error(vfsNode, "'vfs: \(vfs)' is fewer than the \(asked) VFs the types and guests ask for")
                }
                if vfs == nil && types.isEmpty && guestVFs.isEmpty {
                    throw error(n, "'mode: vgpu' needs 'vfs', 'types' or 'guests'")
                }
                mode = .vgpu(spec)
            default:
                throw error(modeNode, "unknown mode '\(modeNode.string ?? "?")'; expected passthrough, vgpu or host")
            }
            return .init(selector: selector, mode: mode, location: loc(n), places: places(m))
        }

        /// Where each value of a rule (or entry) is written.
        func places(_ m: Node.Mapping) -> [String: String] {
            var out: [String: String] = [:]
            for (k, v) in m {
                guard let key = k.string else { continue }
                switch key {
                case "select", "devices":
                    out["select"] = loc(selectorValue(v))
                    if let seq = v.sequence { for (i, item) in seq.enumerated() { out["index:\(i)"] = loc(item) } }
                case "types", "vgpu-devices":
                    out["types"] = loc(k)
                    for (tk, _) in v.mapping ?? [:] { if let t = tk.string { out["type:\(t)"] = loc(tk) } }
                default:
                    out[key] = loc(v)
                }
            }
            return out
        }

        /// The value a selector names (`{address: X}`: X), or the selector itself.
        func selectorValue(_ n: Node) -> Node {
            if let m = n.mapping, m.count == 1, let v = m.first?.value { return v }
            return n
        }

        func ownSelector(_ n: Node) throws(ReconcileError) -> HostConfig.Selector {
            if n.string == "all" { return .all }
            guard let m = n.mapping, m.count == 1, let (k, v) = m.first, let key = k.string else {
                throw error(n, "'select' must be 'all' or one of {address: BDF}, {deviceID: VVVV:DDDD}, {serial: HEX}")
            }
            guard let s = v.string else { throw error(v, "'\(key)' must be a string") }
            switch key {
            case "address":
                guard let a = PCIAddress(s) else { throw error(v, "'\(s)' is not a PCI address (DDDD:BB:DD.F)") }
                return .address(a)
            case "deviceID":
                guard let id = Self.parseID(s) else {
                    throw error(v, "'\(s)' is not a device id; write VVVV:DDDD (e.g. 10de:2330) or 0xDDDDVVVV")
                }
                return .deviceID(vendor: id.vendor, device: id.device)
            case "serial":
                let t = s.replacingOccurrences(of: "-", with: "").lowercased()
                guard let v64 = UInt64(t.hasPrefix("0x") ? String(t.dropFirst(2)) : t, radix: 16) else {
                    throw error(
                        v, "'\(s)' is not a serial number (hex, as lspci prints the DSN: 00-1b-21-ff-fe-8a-0b-0c)")
                }
                return .serial(v64)
            default:
                throw error(k, "unknown selector '\(key)'; expected address, deviceID or serial (or 'select: all')")
            }
        }

        /// `10de:2330` or vgpu-device-manager's `0x233010DE` (device in the high half).
        static func parseID(_ s: String) -> (vendor: UInt16, device: UInt16)? {
            let parts = s.split(separator: ":")
            if parts.count == 2, parts.allSatisfy({ $0.count == 4 }), let v = UInt16(parts[0], radix: 16),
                let d = UInt16(parts[1], radix: 16)
            {
                return (v, d)
            }
            if s.lowercased().hasPrefix("0x"), s.count == 10, let x = UInt32(s.dropFirst(2), radix: 16) {
                return (UInt16(x & 0xFFFF), UInt16(x >> 16))
            }
            return nil
        }

        // MARK: vgpu-device-manager

        func deviceManagerFile(_ top: Node.Mapping, _ root: Node) throws(ReconcileError) -> [HostConfig] {
            try checkKeys(top, allowed: ["version", "vgpu-configs"], context: "a vgpu-device-manager file")
            guard let v = top["version"], v.string == "v1" else {
                throw error(top["version"] ?? root, "a vgpu-device-manager file needs 'version: v1'")
            }
            guard let configs = top["vgpu-configs"], let cm = configs.mapping else {
                throw error(top["vgpu-configs"] ?? root, "'vgpu-configs' must be a mapping of config names to lists")
            }
            var out: [HostConfig] = []
            for (k, v) in cm {
                guard let name = k.string else { throw error(k, "a config name must be a string") }
                guard let seq = v.sequence else {
                    throw error(v, "config '\(name)' must be a list of entries (- devices: ..., vgpu-devices: ...)")
                }
                var rules: [HostConfig.Rule] = []
                for item in seq {
                    guard let m = item.mapping else {
                        throw error(item, "an entry must be a mapping with 'devices' and 'vgpu-devices'")
                    }
                    try checkKeys(
                        m, allowed: ["devices", "device-filter", "vgpu-devices"], context: "a vgpu-device-manager entry"
                    )
                    guard let dn = m["devices"] else {
                        throw error(item, "missing key 'devices' (all, or a list of GPU indices)")
                    }
                    var indices: [Int]? = nil
                    if dn.string != "all" {
                        guard let s = dn.sequence else {
                            throw error(dn, "'devices' must be 'all' or a list of GPU indices")
                        }
                        var list: [Int] = []
                        for i in s { list.append(try int(i, "devices")) }
                        indices = list
                    }
                    var filter: [(vendor: UInt16, device: UInt16)] = []
                    if let f = m["device-filter"] {
                        let items = f.sequence.map(Array.init) ?? [f]
                        for i in items {
                            guard let s = i.string, let id = Self.parseID(s) else {
                                throw error(i, "'device-filter' must be a PCI id like \"0x233010DE\"")
                            }
                            filter.append(id)
                        }
                    }
                    var types: [HostConfig.TypeRequest] = []
                    if let vd = m["vgpu-devices"] {
                        guard let vm = vd.mapping else {
                            throw error(vd, "'vgpu-devices' must map type names to counts")
                        }
                        for (tk, tv) in vm {
                            guard let t = tk.string else { throw error(tk, "a type name must be a string") }
                            types.append(.init(type: t, count: try int(tv, t, min: 1)))
                        }
                    }
                    let selector: HostConfig.Selector
                    if let indices {
                        selector = .indices(indices, filter: filter)
                    } else if filter.count == 1 {
                        selector = .deviceID(vendor: filter[0].vendor, device: filter[0].device)
                    } else if filter.isEmpty {
                        selector = .all
                    } else {
                        selector = .indices([], filter: filter)
                    }
                    let mode: HostConfig.Mode =
                        types.isEmpty ? .host : .vgpu(.init(vfs: nil, types: types, vfioHandoff: false))
                    rules.append(.init(selector: selector, mode: mode, location: loc(item), places: places(m)))
                }
                out.append(HostConfig(file: file, name: name, rules: rules))
            }
            return out
        }
    }
}
