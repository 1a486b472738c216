import Foundation
import HostKit
import Hypervisor
import TestSupport
import Testing

/// `vgpuctl libvirt xml`: every XML it writes, wrapped in a complete domain, passes the real
/// `virt-xml-validate` (Debian libvirt-clients 9.0 schemas).
@Suite struct LibvirtXMLTests {
    /// A minimal domain around the pieces; `cells` NUMA cells of its own.
    static func domain(_ pieces: [String: Any], arch: String = "x86_64", machine: String = "q35", cells: Int = 2)
        -> String
    {
        let hostdevs = (pieces["hostdevs"] as? [String] ?? []).joined(separator: "\n")
        let qemu = pieces["qemuCommandline"] as? String ?? ""
        let cellXML = (0..<cells).map { "<cell id='\($0)' cpus='\($0)' memory='524288' unit='KiB'/>" }.joined()
        return """
            <domain type='kvm'>
              <name>vgpuctl-test</name>
              <memory unit='KiB'>\(524288 * max(cells, 1))</memory>
              <vcpu>\(max(cells, 1))</vcpu>
              <os><type arch='\(arch)' machine='\(machine)'>hvm</type></os>
              <cpu><numa>\(cellXML)</numa></cpu>
              <devices>
            \(hostdevs)
              </devices>
            \(qemu)
            </domain>
            """
    }

    /// Runs virt-xml-validate on `xml`; returns (exit status, output).
    static func validate(_ xml: String) throws -> TestSupport.Result {
        let file = TestSupport.tempDir("virtxml") + "/domain.xml"
        try xml.write(toFile: file, atomically: true, encoding: .utf8)
        return try TestSupport.run("/usr/bin/virt-xml-validate", [file, "domain"])
    }

    static func pieces(_ r: TestSupport.Result) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] ?? [:]
    }

    @Test func theValidatorRejectsABrokenHostdev() throws {
        try HV.requireTools()
        let bad = Self.domain(["hostdevs": ["<hostdev mode='subsystem' type='pci' managed='maybe'><source/></hostdev>"]]
        )
        #expect(try Self.validate(bad).status != 0)
    }

    @Test func everyXMLValidates() throws {
        try HV.requireTools()
        let mixed = try HV.host("mixed", assigned: ["0000:01:00.0", "0000:03:00.0"])
        let cases: [[String]] = [
            ["0000:01:00.0"],
            ["0000:01:00.0", "0000:03:00.0", "--addr", "4"],
            ["0000:03:00.0", "--unmanaged", "--rombar", "0"],
            ["0000:02:00.0", "--plan"],
        ]
        for c in cases {
            let r = try HV.vg(mixed, ["libvirt", "xml", "--json"] + c)
            #expect(r.status == 0, "\(c): \(r.stderr)")
            let p = try Self.pieces(r)
            // A domain without the hostdevs would validate too: require them first.
            let hostdevs = try #require(p["hostdevs"] as? [String], "\(c): no 'hostdevs' list in \(r.stdout)")
            let named = c.filter { $0.hasPrefix("0000:") }
            #expect(
                !hostdevs.isEmpty && hostdevs.count >= named.count
                    && hostdevs.allSatisfy { $0.contains("<hostdev") && $0.contains("<source") }, "\(c): \(hostdevs)")
            let v = try Self.validate(Self.domain(p))
            #expect(v.status == 0, "\(c): \(v.stdout)\(v.stderr)\n\(r.stdout)")
            // The text form is the same elements under comments.
            let text = try HV.vg(mixed, ["libvirt", "xml"] + c).stdout
            for h in hostdevs { #expect(text.contains(h)) }
        }
        // An mdev, on a host with vGPU instances.
        let h100 = try TestSupport.simHost("h100x8")
        let uuid = "c2177883-f1bb-47f0-914d-32a22e3a8804"
        try HV.makeMdev(h100, parent: "0000:18:00.0", uuid: uuid)
        let m = try HV.vg(h100, ["libvirt", "xml", "--json", uuid, "--addr", "3"])
        #expect(m.status == 0, "\(m.stderr)")
        let mp = try Self.pieces(m)
        #expect(
            (mp["hostdevs"] as? [String])?.count == 1 && (mp["hostdevs"] as? [String])?.first?.contains(uuid) == true,
            "\(m.stdout)")
        let mv = try Self.validate(Self.domain(mp))
        #expect(mv.status == 0, "\(mv.stdout)\(mv.stderr)\n\(m.stdout)")
        let grace = try HV.host("gh200x4", assigned: ["0009:01:00.0", "0019:01:00.0"])
        let g = try HV.vg(
            grace,
            ["libvirt", "xml", "--json", "0009:01:00.0", "0019:01:00.0", "--first-node", "2", "--qemu-version", "9.2"])
        #expect(g.status == 0, "\(g.stderr)")
        let gp = try Self.pieces(g)
        #expect((gp["hostdevs"] as? [String])?.count == 2, "\(g.stdout)")
        let v = try Self.validate(Self.domain(gp, arch: "aarch64", machine: "virt"))
        #expect(v.status == 0, "\(v.stdout)\(v.stderr)\n\(g.stdout)")
        let q = gp["qemuCommandline"] as? String ?? ""
        #expect(q.contains("<qemu:arg value='node,nodeid=2'/>") && q.contains("<qemu:arg value='node,nodeid=17'/>"))
        #expect(q.contains("acpi-generic-initiator,id=gi15,pci-dev=ua-hostdev-0019-01-00-0,node=17"), "\(q)")
        #expect((gp["hostdevs"] as? [String])?.first?.contains("<rom bar='off'/>") == true)
        #expect(g.stderr.contains("EGM region egm4") && g.stderr.contains("cells must be 0-1"), "\(g.stderr)")
        // The installed QEMU 7.2 cannot run it.
        let old = try HV.vg(grace, ["libvirt", "xml", "0009:01:00.0"])
        #expect(
            old.status == 1 && old.stderr.contains("acpi-generic-initiator") && old.stderr.contains("9.0"),
            "\(old.stderr)")
    }

    @Test func hostdevShape() throws {
        let root = try HV.host("mixed", assigned: ["0000:03:00.0"])
        let r = try HV.vg(root, ["libvirt", "xml", "0000:03:00.0", "--addr", "05"])
        #expect(
            r.stdout == """
                <!-- vgpuctl: in <devices> -->
                <hostdev mode='subsystem' type='pci' managed='yes'>
                  <source>
                    <address domain='0x0000' bus='0x03' slot='0x00' function='0x0'/>
                  </source>
                  <alias name='ua-hostdev-0000-03-00-0'/>
                  <address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0' multifunction='on'/>
                </hostdev>
                <hostdev mode='subsystem' type='pci' managed='yes'>
                  <source>
                    <address domain='0x0000' bus='0x03' slot='0x00' function='0x1'/>
                  </source>
                  <alias name='ua-hostdev-0000-03-00-1'/>
                  <address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x1'/>
                </hostdev>

                """)
    }
}
