import HostKit

/// Resource and environment names as NVIDIA's KubeVirt device plugin and KubeVirt compute them.
public enum ResourceNames {
    public static let vendorDomain = "nvidia.com"

    /// NVIDIA's rule for a PCI device name (its pci.ids name): upper-cased, `/` and `.` to `_`,
    /// runs of white space to `_`, then every character but `A-Z a-z 0-9 _ .` dropped:
    /// `GH100 [H100 SXM5 80GB]` -> `GH100_H100_SXM5_80GB`. The raw device id when no name is known.
    public static func deviceName(_ pciName: String?, deviceID: UInt16) -> String {
        guard let pciName, !pciName.isEmpty else { return hex(deviceID, 4).uppercased() }
        var out = ""
        var inSpace = false
        for ch in pciName.uppercased() {
            if ch.isWhitespace {
                if !inSpace { out.append("_") }
                inSpace = true
                continue
            }
            inSpace = false
            if ch == "/" || ch == "." {
                out.append("_")
                continue
            }
            if ch.isASCII && (ch.isLetter || ch.isNumber || ch == "_") { out.append(ch) }
        }
        return out.isEmpty ? hex(deviceID, 4).uppercased() : out
    }

    /// A vGPU type's resource suffix: its name as the driver shows it (`NVIDIA H100XM-20C`),
    /// white space to `_`: `NVIDIA_H100XM-20C`.
    public static func vgpuName(_ profile: String) -> String {
        let driverName = profile.hasPrefix("NVIDIA ") ? profile : "NVIDIA " + profile
        return driverName.split(whereSeparator: \.isWhitespace).joined(separator: "_")
    }

    public static func passthrough(_ pciName: String?, deviceID: UInt16) -> String {
        "\(vendorDomain)/\(deviceName(pciName, deviceID: deviceID))"
    }

    public static func vgpu(_ profile: String) -> String { "\(vendorDomain)/\(vgpuName(profile))" }

    /// KubeVirt's variable name for a resource: upper-cased, `/` and `.` to `_`, after the prefix
    /// `PCI_RESOURCE_` (PCI devices) or `MDEV_PCI_RESOURCE_` (mediated devices).
    public static func environmentName(_ resource: String, mdev: Bool) -> String {
        let body = resource.uppercased().map { $0 == "/" || $0 == "." ? "_" : String($0) }.joined()
        return (mdev ? "MDEV_PCI_RESOURCE_" : "PCI_RESOURCE_") + body
    }

    /// The plugin's socket file for a resource (`kubevirt-<name>.sock`, NVIDIA's pattern), in the
    /// kubelet's device-plugin directory.
    public static func socketName(_ resource: String) -> String {
        let name =
            resource.hasPrefix(vendorDomain + "/") ? String(resource.dropFirst(vendorDomain.count + 1)) : resource
        return "kubevirt-"
            + name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? String($0) : "_" }.joined() + ".sock"
    }
}
