import Foundation

/// Pure parsers of the mdev files NVIDIA's vGPU driver (<= 16) publishes for a parent device
/// (`mdev_supported_types/<type>/{name,description,available_instances,device_api}`), as a real
/// A2 VF shows them (`shared/data/harvester-gpuhelper/sys/class/mdev_bus/0000:08:01.7`).
public enum MdevFormat {
    /// A parsed `description`:
    /// `num_heads=4, frl_config=45, framebuffer=1024M, max_resolution=5120x2880, max_instance=16`.
    public struct Description: Sendable, Equatable {
        /// Every `key=value` pair, in order.
        public var fields: [(key: String, value: String)]

        public static func == (a: Description, b: Description) -> Bool {
            a.fields.map(\.key) == b.fields.map(\.key) && a.fields.map(\.value) == b.fields.map(\.value)
        }

        public func value(_ key: String) -> String? { fields.first { $0.key == key }?.value }
        /// `framebuffer=1024M` -> 1024 (MiB; a `G` suffix is GiB, no suffix bytes).
        public var framebufferMiB: Int? { value("framebuffer").flatMap(MdevFormat.mebibytes) }
        public var maxInstances: Int? { value("max_instance").flatMap { Int($0) } }
        public var heads: Int? { value("num_heads").flatMap { Int($0) } }
        public var frameRateLimit: Int? { value("frl_config").flatMap { Int($0) } }
        public var maxResolution: String? { value("max_resolution") }
    }

    /// Parses a `description`; nil when it is not a `key=value, ...` list.
    public static func description(_ text: String) -> Description? {
        let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !t.isEmpty else { return nil }
        var fields: [(key: String, value: String)] = []
        for part in t.split(separator: ",") {
            let kv = part.split(separator: "=", maxSplits: 1)
            guard kv.count == 2 else { return nil }
            let k = kv[0].trimmingCharacters(in: .whitespaces)
            let v = kv[1].trimmingCharacters(in: .whitespaces)
            guard !k.isEmpty, !v.isEmpty else { return nil }
            fields.append((k, v))
        }
        return Description(fields: fields)
    }

    /// `1024M` -> 1024, `16G` -> 16384, `1048576` (bytes) -> 1.
    static func mebibytes(_ s: String) -> Int? {
        if s.hasSuffix("M") { return Int(s.dropLast()) }
        if s.hasSuffix("G") { return Int(s.dropLast()).map { $0 * 1024 } }
        return Int(s).map { $0 >> 20 }
    }

    /// Parses `available_instances` (`%d\n`).
    public static func availableInstances(_ text: String?) -> Int? {
        guard let t = text?.trimmingCharacters(in: .whitespacesAndNewlines) else { return nil }
        return Int(t)
    }

    /// The numeric id of an NVIDIA mdev type directory (`nvidia-742` -> 742).
    public static func typeID(_ directory: String) -> Int? {
        guard directory.hasPrefix("nvidia-") else { return nil }
        return Int(directory.dropFirst(7))
    }
}
