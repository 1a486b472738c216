import Foundation
import HostKit

/// The OpenStack Nova settings for a host's devices (`nova.conf` fragments: INI, JSON values).
///
/// - Typed VFs (NVIDIA vendor VFIO, Epoxy 2025.1): one `[pci] device_spec` per VF (`address`,
///   `managed: "no"`: vgpuctl, not libvirt, binds them; `resource_class: CUSTOM_<TYPE>`), one
///   `[pci] alias` per type (`device_type: type-VF`), `report_in_placement = True`; a flavor
///   asks `pci_passthrough:alias=<TYPE>:1`.
/// - mdev vGPUs: `[devices] enabled_mdev_types`, and per type `[mdev_<type>] device_addresses`
///   (the parent VFs) and `max_instances = 1` (a VF carries at most one mdev).
/// - Passthrough GPUs: one `device_spec` per GPU address (type-PCI), one alias per device name.
public enum NovaConfig {
    /// A placement resource class for a name: `CUSTOM_` and the name upper-cased with every
    /// character but A-Z, 0-9 turned to `_` (`H100XM-20C` -> `CUSTOM_H100XM_20C`).
    public static func resourceClass(_ name: String) -> String {
        "CUSTOM_" + name.uppercased().map { ($0.isASCII && ($0.isLetter || $0.isNumber)) ? String($0) : "_" }.joined()
    }

    public static func render(_ snapshot: FleetSnapshot, names: (FleetDevice) -> String) -> String {
        var pciSpecs: [String] = []
        var aliases: [String] = []
        var seenAlias = Set<String>()
        let typed = snapshot.devices.filter { $0.kind == .typedVF }
        for d in typed {
            guard let type = d.vgpuType, let vf = d.functions.first else { continue }
            let rc = resourceClass(type)
            pciSpecs.append(
                json([
                    ("vendor_id", hex(d.vendorID, 4)), ("product_id", hex(d.deviceID, 4)), ("address", vf.description),
                    ("resource_class", rc), ("managed", "no"),
                ]))
            if seenAlias.insert(type).inserted {
                aliases.append(json([("device_type", "type-VF"), ("resource_class", rc), ("name", type)]))
            }
        }
        for d in snapshot.devices where d.kind == .passthrough || d.kind == .genericVF {
            let name = names(d)
            let rc = resourceClass(name)
            for f in d.functions.prefix(1) {
                pciSpecs.append(
                    json([
                        ("vendor_id", hex(d.vendorID, 4)), ("product_id", hex(d.deviceID, 4)),
                        ("address", f.description),
                        ("resource_class", rc), ("managed", "no"),
                    ]))
            }
            if seenAlias.insert(name).inserted {
                aliases.append(
                    json([
                        ("device_type", d.kind == .genericVF ? "type-VF" : "type-PCI"), ("resource_class", rc),
                        ("name", name),
                    ]))
            }
        }
        var out: [String] = ["# nova.conf settings for this host, written by vgpuctl export nova"]
        if !pciSpecs.isEmpty {
            out.append("")
            out.append("[pci]")
            out.append("report_in_placement = True")
            out += pciSpecs.map { "device_spec = " + $0 }
            out += aliases.map { "alias = " + $0 }
        }
        let mdevs = snapshot.devices.filter { $0.kind == .mdev && $0.mdevType != nil }
        var types: [String] = []
        for d in mdevs where !types.contains(d.mdevType ?? "") { types.append(d.mdevType ?? "") }
        if !types.isEmpty {
            out.append("")
            out.append("[devices]")
            out.append("enabled_mdev_types = " + types.joined(separator: ", "))
            for t in types {
                let parents = mdevs.filter { $0.mdevType == t }.compactMap { $0.functions.first?.description }
                let profile = mdevs.first { $0.mdevType == t }?.vgpuType ?? t
                out.append("")
                out.append("# \(profile)")
                out.append("[mdev_\(t)]")
                out.append("device_addresses = " + parents.joined(separator: ","))
                out.append("max_instances = 1")
            }
        }
        if pciSpecs.isEmpty && types.isEmpty {
            out.append("# no device of this host is ready for Nova: no GPU on VFIO, no VF with a vGPU type, no mdev")
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// A one-line JSON object with keys in the given order.
    static func json(_ pairs: [(String, String)]) -> String {
        "{" + pairs.map { "\(quote($0.0)): \(quote($0.1))" }.joined(separator: ", ") + "}"
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }
}
