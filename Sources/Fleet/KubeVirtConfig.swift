import HostKit

/// The KubeVirt CR snippet (`spec.configuration.permittedHostDevices`) that lets VMs ask for
/// the resources vgpuctl's device plugin serves: every resource with
/// `externalResourceProvider: true` (the plugin, not KubeVirt's own, provides it).
public enum KubeVirtConfig {
    public static func render(_ snapshot: FleetSnapshot) -> String {
        var pci: [String] = []
        var mdev: [String] = []
        for r in snapshot.resources {
            guard let d = snapshot.devices(of: r).first else { continue }
            if d.kind == .mdev {
                mdev.append(
                    "        - mdevNameSelector: \"\(VGPUName.driver(d.vgpuType ?? r))\"\n          resourceName: \(r)\n          externalResourceProvider: true"
                )
            } else {
                let selector = (hex(d.vendorID, 4) + ":" + hex(d.deviceID, 4)).uppercased()
                pci.append(
                    "        - pciVendorSelector: \"\(selector)\"\n          resourceName: \(r)\n          externalResourceProvider: true"
                )
            }
        }
        var out = [
            "# KubeVirt CR (kubectl edit kubevirt -n kubevirt): the resources vgpuctl device-plugin serves on this host",
            "spec:", "  configuration:", "    permittedHostDevices:",
        ]
        out.append("      pciHostDevices:" + (pci.isEmpty ? " []" : ""))
        out += pci
        out.append("      mediatedDevices:" + (mdev.isEmpty ? " []" : ""))
        out += mdev
        return out.joined(separator: "\n") + "\n"
    }
}

/// vGPU type names as NVIDIA's driver shows them.
enum VGPUName {
    static func driver(_ profile: String) -> String { profile.hasPrefix("NVIDIA ") ? profile : "NVIDIA " + profile }
}
