import Foundation
import HostKit

/// What a libvirt hook needs from a domain's XML: its name and the host devices it uses.
public struct DomainXML: Sendable, Equatable {
    /// A `<hostdev>` in `<devices>`.
    public enum Hostdev: Sendable, Equatable {
        case pci(PCIAddress, managed: Bool)
        case mdev(uuid: String)
    }

    public var name: String?
    public var hostdevs: [Hostdev]

    public init(name: String?, hostdevs: [Hostdev]) {
        self.name = name
        self.hostdevs = hostdevs
    }

    /// The PCI addresses of the PCI hostdevs.
    public var pciAddresses: [PCIAddress] {
        hostdevs.compactMap { if case .pci(let a, _) = $0 { return a } else { return nil } }
    }

    /// Parses domain XML; exit 2 with the line and column for anything malformed.
    public static func parse(_ text: String) throws(HypervisorError) -> DomainXML {
        let tree: XMLTree
        do { tree = try XMLTree.parse(text) } catch {
            throw .invalid(.domainXML, "the domain XML is malformed: \(error)")
        }
        guard tree.root.name == "domain" else {
            throw .invalid(
                .domainXML, "the XML is not a libvirt domain: its root element is <\(tree.root.name)>, not <domain>")
        }
        var out: [Hostdev] = []
        for devices in tree.root.children("devices") {
            for h in devices.children("hostdev") {
                guard (h.attributes["mode"] ?? "subsystem") == "subsystem" else { continue }
                switch h.attributes["type"] {
                case "pci":
                    guard let addr = h.child("source")?.child("address") else {
                        throw .invalid(
                            .domainXML, "the domain XML has a PCI <hostdev> without <source><address .../></source>")
                    }
                    out.append(.pci(try pciAddress(addr), managed: h.attributes["managed"] == "yes"))
                case "mdev":
                    guard let uuid = h.child("source")?.child("address")?.attributes["uuid"],
                        DeviceResolver.isUUID(uuid)
                    else {
                        throw .invalid(
                            .domainXML,
                            "the domain XML has an mdev <hostdev> without a valid <source><address uuid='...'/></source>"
                        )
                    }
                    out.append(.mdev(uuid: uuid.lowercased()))
                default:
                    continue
                }
            }
        }
        let name = tree.root.child("name")?.text.trimmingCharacters(in: .whitespacesAndNewlines)
        return DomainXML(name: name, hostdevs: out)
    }

    /// `<address domain='0x0000' bus='0x06' slot='0x02' function='0x0'/>` (hex with `0x`, or
    /// decimal, as libvirt accepts).
    static func pciAddress(_ e: XMLTree.Element) throws(HypervisorError) -> PCIAddress {
        func number(_ key: String, max: UInt32, default dflt: UInt32?) throws(HypervisorError) -> UInt32 {
            guard let text = e.attributes[key] else {
                if let dflt { return dflt }
                throw .invalid(.domainXML, "a PCI <hostdev> source address in the domain XML has no '\(key)'")
            }
            let t = text.trimmingCharacters(in: .whitespaces)
            let v = t.lowercased().hasPrefix("0x") ? UInt32(t.dropFirst(2), radix: 16) : UInt32(t, radix: 10)
            guard let v, v <= max else {
                throw .invalid(.domainXML, "'\(text)' is not a valid PCI \(key) in a <hostdev> source address")
            }
            return v
        }
        return PCIAddress(
            domain: try number("domain", max: 0xFFFF, default: 0),
            bus: UInt8(try number("bus", max: 0xFF, default: nil)),
            device: UInt8(try number("slot", max: 31, default: nil)),
            function: UInt8(try number("function", max: 7, default: 0)))
    }
}
