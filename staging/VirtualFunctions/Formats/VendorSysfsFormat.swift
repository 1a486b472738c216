import Foundation

/// Pure parsers of NVIDIA's vendor-specific VFIO sysfs files on a VF (vGPU 17+), as the driver
/// prints them (real captures: `shared/data/harvester-gpuhelper`, `real-captures.md`).
public enum VendorSysfsFormat {
    /// One line of `creatable_vgpu_types`.
    public struct CreatableType: Sendable, Equatable {
        public var id: Int
        /// As the driver prints it: `NVIDIA L40S-1B`.
        public var driverName: String
        /// The profile name without the vendor prefix: `L40S-1B`.
        public var name: String { VGPUNames.profileName(driverName) }
    }

    /// Parses `creatable_vgpu_types`: an optional header line starting with `ID`
    /// (`ID    : vGPU Name`), then one `%-5d : %s` line per type. A VF on a full GPU prints the
    /// header and nothing else. Returns nil when a line is neither (not this file's format).
    public static func creatable(_ text: String) -> [CreatableType]? {
        var out: [CreatableType] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            if i == 0 && line.hasPrefix("ID") { continue }
            guard let colon = line.firstIndex(of: ":") else { return nil }
            let idText = line[..<colon].trimmingCharacters(in: .whitespaces)
            let name = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            guard let id = Int(idText), id >= 0, !name.isEmpty else { return nil }
            out.append(CreatableType(id: id, driverName: name))
        }
        return out
    }

    /// Parses `current_vgpu_type` (`%d\n`): the type id, nil for `0` (no vGPU) or a malformed file.
    public static func currentType(_ text: String?) -> Int? {
        guard let t = text?.trimmingCharacters(in: .whitespacesAndNewlines), let v = Int(t), v > 0 else { return nil }
        return v
    }

    /// Parses `placement_id` or `gpu_instance_id` (`%d\n`; empty when the VF has no vGPU).
    public static func optionalNumber(_ text: String?) -> Int? {
        guard let t = text?.trimmingCharacters(in: .whitespacesAndNewlines), !t.isEmpty else { return nil }
        return Int(t)
    }
}

/// vGPU type names as drivers print them and as profile files spell them.
public enum VGPUNames {
    /// `NVIDIA L40S-1B` -> `L40S-1B` (names without the prefix are returned as they are).
    public static func profileName(_ driverName: String) -> String {
        let t = driverName.trimmingCharacters(in: .whitespacesAndNewlines)
        return t.hasPrefix("NVIDIA ") ? String(t.dropFirst(7)) : t
    }

    /// `L40S-1B` -> `NVIDIA L40S-1B`.
    public static func driverName(_ profileName: String) -> String { "NVIDIA " + profileName }
}
