import Foundation
import Yams

/// Reads vGPU profile catalogs, with errors that name `file:line:column` and what is wrong.
///
/// ```yaml
/// catalog: H100XM                 # prefix of every type name
/// gpu:
///   name: NVIDIA H100 SXM5 80GB
///   deviceIDs: [0x2330]
///   framebufferMiB: 81920
///   reserved: [{name: WPR2 heap, sizeMiB: 581}]
///   placementUnits: 80            # optional: default lcm of the types' maxInstances
///   channels: 2048
///   copyEngines: 8
///   vfSlots: 32
///   heterogeneous: true           # optional, default false
///   mig: {computeSlices: 7, memorySlices: 8}
/// types:
///   - {name: H100XM-10C, id: 1130, maxInstances: 8}
///   - {name: H100XM-1-10C, id: 1140, maxInstances: 7,
///      mig: {profile: 1g.10gb, computeSlices: 1, memorySlices: 1, placements: [0, 1, 2, 3, 4, 5, 6]}}
/// ```
/// Per type, `framebufferMiB`, `placementSize`, `channels` and `copyEngines` may be given; by
/// default: placement size = placementUnits / maxInstances (MIG: its memory slices), frame
/// buffer = the name's size capped by the placement, channels = the largest power of two not
/// above channels / maxInstances (the rule of NVIDIA's RM; MIG-backed: not above the GPU
/// instance's share of the channels by memory slices), copy engines = all of the GPU's
/// (shared, time-sliced) or the GPU instance's `copyEngines` (exclusive, MIG; default its
/// compute slices).
public enum VGPUCatalogParser {
    /// Loads one catalog file.
    public static func load(path: String) throws(VGPUCatalogError) -> VGPUCatalog {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw VGPUCatalogError(
                message:
                    "cannot read vGPU profile file \(path): \(FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file")"
            )
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw VGPUCatalogError(message: "\(path):1:1: not UTF-8 text")
        }
        return try parse(text, file: path)
    }

    /// Parses catalog text; `file` names it in messages.
    public static func parse(_ text: String, file: String) throws(VGPUCatalogError) -> VGPUCatalog {
        let root: Node
        do {
            // The reader takes every scalar as text and converts it itself, so no tag is
            // resolved: the basic resolver spares a regular-expression match per key lookup.
            guard let n = try Yams.compose(yaml: text, .basic) else {
                throw VGPUCatalogError(message: "\(file):1:1: the file is empty")
            }
            root = n
        } catch let e as VGPUCatalogError {
            throw e
        } catch let e as YamlError {
            throw VGPUCatalogError(message: describe(e, file: file))
        } catch {
            throw VGPUCatalogError(message: "\(file): \(error)")
        }
        return try CatalogReader(r: NodeReader(file: file)).catalog(root)
    }

    static func describe(_ e: YamlError, file: String) -> String {
        switch e {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
            .composer(_, let problem, let mark, _):
            return "\(file):\(mark.line):\(mark.column): YAML syntax error: \(problem)"
        case .duplicatedKeysInMapping(let keys, let context):
            return
                "\(file):\(context.mark.line):\(context.mark.column): duplicate key \(keys.sorted().joined(separator: ", "))"
        default:
            return "\(file): YAML error: \(e)"
        }
    }
}

/// Typed reads from YAML nodes that fail with `file:line:column: what`.
struct NodeReader {
    let file: String

    func loc(_ n: Node) -> String {
        guard let m = n.mark else { return file }
        return "\(file):\(m.line):\(m.column)"
    }

    func error(_ n: Node, _ what: String) -> VGPUCatalogError { VGPUCatalogError(message: "\(loc(n)): \(what)") }

    func mapping(_ n: Node, _ what: String, allowed: Set<String>) throws(VGPUCatalogError) -> Node.Mapping {
        guard let m = n.mapping else { throw error(n, "\(what) must be a mapping, not \(kind(n))") }
        for k in m.keys {
            guard let s = k.string, allowed.contains(s) else {
                throw error(
                    k,
                    "unknown key '\(k.string ?? "?")' in \(what); expected one of: \(allowed.sorted().joined(separator: ", "))"
                )
            }
        }
        return m
    }

    func required(_ m: Node.Mapping, _ key: String, in owner: Node, _ what: String) throws(VGPUCatalogError) -> Node {
        guard let v = m[key] else { throw error(owner, "\(what) lacks the key '\(key)'") }
        return v
    }

    func string(_ n: Node, _ key: String) throws(VGPUCatalogError) -> String {
        guard let s = n.scalar?.string, !s.isEmpty else {
            throw error(n, "'\(key)' must be a non-empty text, not \(kind(n))")
        }
        return s
    }

    func int(_ n: Node, _ key: String, min: Int = 0, max: Int = Int(Int32.max)) throws(VGPUCatalogError) -> Int {
        guard let s = n.scalar?.string, let v = Self.number(s) else {
            throw error(n, "'\(key)' must be a whole number, not '\(n.scalar?.string ?? kind(n))'")
        }
        guard v >= min, v <= max else { throw error(n, "'\(key)' must be between \(min) and \(max), not \(v)") }
        return v
    }

    func bool(_ n: Node, _ key: String) throws(VGPUCatalogError) -> Bool {
        switch n.scalar?.string {
        case "true", "yes": return true
        case "false", "no": return false
        default: throw error(n, "'\(key)' must be true or false, not '\(n.scalar?.string ?? kind(n))'")
        }
    }

    func list(_ n: Node, _ key: String) throws(VGPUCatalogError) -> [Node] {
        guard let s = n.sequence else { throw error(n, "'\(key)' must be a list, not \(kind(n))") }
        return Array(s)
    }

    /// Decimal or `0x` hex.
    static func number(_ s: String) -> Int? {
        if s.hasPrefix("0x") || s.hasPrefix("0X") { return Int(s.dropFirst(2), radix: 16) }
        return Int(s)
    }

    func kind(_ n: Node) -> String {
        switch n {
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .scalar: "a scalar"
        case .alias: "an alias"
        }
    }
}
