import HostKit

/// What `vgpuctl libvirt xml` is asked for.
public struct LibvirtXMLRequest: Sendable {
    public var devices: [AssignedDevice]
    /// `managed='yes'`: libvirt binds the device to VFIO at start and gives it back at stop.
    public var managed: Bool
    /// The guest slot of the first device on bus 0 (`<address type='pci' .../>`).
    public var firstSlot: UInt8?
    /// `<rom bar='on|off'/>` for every device; Grace GPUs get `off` when unset.
    public var rombar: Int?
    /// The first guest NUMA node vgpuctl may use (the domain's `<cell>`s are below it).
    public var firstNode: Int
    /// libvirt >= 11.8: Grace GPUs' nodes as `<acpi nodeset>` in the `<hostdev>` plus memoryless
    /// `<cell>`s (libvirt creates the generic initiators); else a `<qemu:commandline>`.
    public var acpiNodeset: Bool

    public init(
        devices: [AssignedDevice], managed: Bool = true, firstSlot: UInt8? = nil, rombar: Int? = nil,
        firstNode: Int = 1,
        acpiNodeset: Bool = false
    ) {
        self.devices = devices
        self.managed = managed
        self.firstSlot = firstSlot
        self.rombar = rombar
        self.firstNode = firstNode
        self.acpiNodeset = acpiNodeset
    }
}

/// The domain XML pieces for the devices: `<hostdev>` elements for `<devices>`, and for Grace
/// GPUs a `<qemu:commandline>` with what libvirt cannot express itself.
public struct LibvirtDomainPieces: Sendable, Encodable {
    /// One `<hostdev>` element per function.
    public var hostdevs: [String]
    /// The `<qemu:commandline>` element (with its own `xmlns:qemu`), or nil.
    public var qemuCommandline: String?
    /// With `<acpi nodeset>` (libvirt >= 11.8): the memoryless `<cell>`s of the Grace GPUs'
    /// nodes, for the domain's `<cpu><numa>`.
    public var numaCells: [String] = []
    /// What the rest of the domain must agree with.
    public var notes: [String]

    /// The pieces as one text, each group under a comment saying where it goes.
    public var text: String {
        var out = ["<!-- vgpuctl: in <devices> -->"] + hostdevs
        if let q = qemuCommandline { out += ["<!-- vgpuctl: in <domain> -->", q] }
        if !numaCells.isEmpty { out += ["<!-- vgpuctl: in <cpu><numa>, after the domain's own cells -->"] + numaCells }
        return out.joined(separator: "\n")
    }
}

/// Builds libvirt domain XML for devices handed to a guest (libvirt formatdomain: hostdev,
/// `<qemu:commandline>`); checked with `virt-xml-validate` in the tests.
public enum LibvirtXML {
    public static let qemuNamespace = "http://libvirt.org/schemas/domain/qemu/1.0"

    /// libvirt's user alias for a device (`ua-` + vgpuctl's QEMU id, `.` written as `-`); libvirt
    /// passes it to QEMU as the device id, so `acpi-generic-initiator` objects can name the device.
    /// libvirt keeps a user alias only when it is made of letters, digits, `_` and `-`: a real
    /// libvirtd 11.3 silently replaced `ua-hostdev-0000-00-03.1` with `hostdev0`
    /// (Tests/Scenarios/libvirtd_hook_e2e.py), which would leave the generic initiators naming
    /// no device.
    public static func alias(_ qemuID: String) -> String { "ua-" + qemuID.replacingOccurrences(of: ".", with: "-") }

    public static func build(_ r: LibvirtXMLRequest, capabilities caps: QEMUCapabilities) throws(HypervisorError)
        -> LibvirtDomainPieces
    {
        guard !r.devices.isEmpty else { throw .invalid(.badOption, "name at least one device") }
        if let s = r.firstSlot, Int(s) + r.devices.count > 32 {
            throw .invalid(
                .badOption, "--addr \(hex(s, 2)).0 leaves no room for \(r.devices.count) devices (slots end at 1f)")
        }
        if let rb = r.rombar, !(0...1).contains(rb) { throw .invalid(.badOption, "--rombar takes 0 or 1, not \(rb)") }
        guard (1...4096).contains(r.firstNode) else {
            throw .invalid(
                .badOption,
                "--first-node must be between 1 and 4096 (the domain needs its own cell 0), not \(r.firstNode)")
        }
        if let g = r.devices.first(where: \.grace) {
            try caps.require(
                .acpiGenericInitiator, for: "Grace GPU \(g.name) needs (one per guest NUMA node of the GPU)")
        }
        var hostdevs: [String] = []
        var args: [String] = []
        var notes: [String] = []
        var slot = r.firstSlot.map(Int.init)
        var node = r.firstNode
        var gi = 0
        var cells: [String] = []
        for d in r.devices {
            let functions: [AssignedDevice.Source] = [d.source] + d.companions.map { .pci($0) }
            for (fn, f) in functions.enumerated() {
                var lines: [String] = []
                let primary = fn == 0
                switch f {
                case .pci(let a):
                    // A vendor-VFIO vGPU VF stays on nvidia: libvirt must not rebind it.
                    lines.append(
                        "<hostdev mode='subsystem' type='pci' managed='\(r.managed && !d.keepsDriver ? "yes" : "no")'>")
                    lines.append("  <source>")
                    lines.append(
                        "    <address domain='0x\(hex(a.domain, 4))' bus='0x\(hex(a.bus, 2))' slot='0x\(hex(a.device, 2))' function='0x\(a.function)'/>"
                    )
                    lines.append("  </source>")
                    lines.append("  <alias name='\(escape(alias(QEMUDeviceID.hostdev(a))))'/>")
                case .mdev(let uuid, _, _, _):
                    lines.append("<hostdev mode='subsystem' type='mdev' model='vfio-pci'>")
                    lines.append("  <source>")
                    lines.append("    <address uuid='\(escape(uuid))'/>")
                    lines.append("  </source>")
                    lines.append("  <alias name='\(escape(alias(QEMUDeviceID.hostdev(mdev: uuid))))'/>")
                }
                if r.acpiNodeset && d.grace && primary {
                    lines.append("  <acpi nodeset='\(node)-\(node + QEMUArgsBuilder.nodesPerGraceGPU - 1)'/>")
                }
                if let rb = r.rombar ?? (d.grace && primary ? 0 : nil) {
                    lines.append("  <rom bar='\(rb == 0 ? "off" : "on")'/>")
                }
                if let slot {
                    let multi = functions.count > 1 && primary ? " multifunction='on'" : ""
                    lines.append(
                        "  <address type='pci' domain='0x0000' bus='0x00' slot='0x\(hex(slot, 2))' function='0x\(fn)'\(multi)/>"
                    )
                }
                lines.append("</hostdev>")
                hostdevs.append(lines.joined(separator: "\n"))
            }
            slot = slot.map { $0 + 1 }
            if r.managed && d.keepsDriver {
                notes.append(
                    "\(d.name) carries a vGPU and stays bound to nvidia, its VFIO driver: its <hostdev> is managed='no' (managed='yes' would make libvirt rebind it to vfio-pci, which fails and loses the vGPU)"
                )
            }
            guard d.grace else { continue }
            let id = alias(d.qemuID)
            let nodes = node..<(node + QEMUArgsBuilder.nodesPerGraceGPU)
            if r.acpiNodeset { cells += nodes.map { "<cell id='\($0)' memory='0' unit='KiB'/>" } }
            if !r.acpiNodeset { for n in nodes { args += ["-numa", "node,nodeid=\(n)"] } }
            for n in nodes where !r.acpiNodeset {
                args += [
                    "-object",
                    QEMUOption(
                        "-object", "acpi-generic-initiator",
                        [.init("id", .string("gi\(gi)")), .init("pci-dev", .string(id)), .init("node", .int(Int64(n)))]
                    ).keyvalText,
                ]
                gi += 1
            }
            node += QEMUArgsBuilder.nodesPerGraceGPU
            if let e = d.egm {
                notes.append(
                    "EGM region egm\(e.pxm) of \(d.name) is left out: libvirt cannot yet back a guest NUMA node with \(e.device) (an RFC proposes <memory model='egm'>); 'vgpuctl qemu args' includes it for a QEMU started directly"
                )
            }
        }
        var qemu: String?
        if !args.isEmpty {
            qemu =
                (["<qemu:commandline xmlns:qemu='\(qemuNamespace)'>"]
                + args.map { "  <qemu:arg value='\(escape($0))'/>" } + ["</qemu:commandline>"])
                .joined(separator: "\n")
            notes.append(
                "the Grace GPUs' guest NUMA nodes \(r.firstNode)-\(node - 1) and their acpi-generic-initiator objects go through <qemu:commandline>, which libvirt passes to QEMU as is: the domain's own <cpu><numa> cells must be 0-\(r.firstNode - 1) (--first-node \(r.firstNode))"
            )
            if r.managed {
                notes.append(
                    "managed='yes' makes libvirt bind each GPU itself; a libvirt that does not know VFIO variant drivers binds vfio-pci, which a Grace GPU cannot use: then pass --unmanaged and let 'vgpuctl passthrough assign' or the vgpuctl libvirt hook bind nvgrace_gpu_vfio_pci"
                )
            }
        }
        if !cells.isEmpty {
            notes.append(
                "libvirt (>= 11.8) creates one acpi-generic-initiator per node of each <acpi nodeset>: the domain's <cpu><numa> must hold its own cells 0-\(r.firstNode - 1) (with the vCPUs and memory) and the memoryless cells \(r.firstNode)-\(node - 1) printed here"
            )
            if r.managed {
                notes.append(
                    "managed='yes' makes libvirt bind each GPU itself; if the libvirt in use binds vfio-pci rather than nvgrace_gpu_vfio_pci, pass --unmanaged and let 'vgpuctl passthrough assign' or the vgpuctl libvirt hook bind it"
                )
            }
        }
        var pieces = LibvirtDomainPieces(hostdevs: hostdevs, qemuCommandline: qemu, notes: notes)
        pieces.numaCells = cells
        return pieces
    }

    /// Escapes text for an XML attribute value (either quote).
    public static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "'": out += "&apos;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}
