import Foundation
import TestSupport
import Testing

/// `vgpuctl libvirt xml` for Grace GPUs per libvirt release: 11.8 and newer get
/// `<acpi nodeset>` in the GPU's `<hostdev>` and memoryless `<cell>`s (libvirt creates the
/// generic initiators), older ones a `<qemu:commandline>`. Each form is validated against the
/// schemas of a libvirt that knows it: sid's libvirt 12.x (unpacked by
/// Tests/Scenarios/install-libvirt-schemas.sh) for both, and the installed 9.0 must reject the new one.
@Suite struct LibvirtACPINodesetTests {
    static func sidSchemas() throws -> String {
        let r = try TestSupport.run(
            "/bin/bash", [TestSupport.repositoryDirectory + "/Tests/Scenarios/install-libvirt-schemas.sh"])
        try #require(r.status == 0, "install-libvirt-schemas.sh failed (exit \(r.status)):\n\(r.stdout)\n\(r.stderr)")
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// An aarch64 domain with its own cell 0 (vCPUs, memory) and vgpuctl's pieces.
    static func domain(_ p: [String: Any]) -> String {
        let cells = (p["numaCells"] as? [String] ?? []).joined(separator: "\n      ")
        return """
            <domain type='kvm'>
              <name>grace</name>
              <memory unit='KiB'>1048576</memory>
              <vcpu>2</vcpu>
              <os><type arch='aarch64' machine='virt'>hvm</type></os>
              <cpu><numa>
                  <cell id='0' cpus='0-1' memory='1048576' unit='KiB'/>
                  \(cells)
              </numa></cpu>
              <devices>
            \((p["hostdevs"] as? [String] ?? []).joined(separator: "\n"))
              </devices>
            \(p["qemuCommandline"] as? String ?? "")
            </domain>
            """
    }

    /// xmllint against `schemas`/domain.rng, as virt-xml-validate does with its own directory.
    static func validate(_ xml: String, schemas: String) throws -> TestSupport.Result {
        let file = TestSupport.tempDir("acpi-nodeset") + "/domain.xml"
        try xml.write(toFile: file, atomically: true, encoding: .utf8)
        return try TestSupport.run("/usr/bin/xmllint", ["--noout", "--relaxng", schemas + "/domain.rng", file])
    }

    @Test func graceFormPerLibvirtRelease() throws {
        try HV.requireTools()
        let sid = try Self.sidSchemas()
        let grace = try HV.host("gh200x4", assigned: ["0009:01:00.0", "0019:01:00.0"])
        let base = ["libvirt", "xml", "--json", "0009:01:00.0", "0019:01:00.0", "--unmanaged", "--qemu-version", "9.2"]

        let new = try HV.vg(grace, base + ["--libvirt-version", "11.8"])
        #expect(new.status == 0, "\(new.stderr)")
        let np = try LibvirtXMLTests.pieces(new)
        let hostdevs = np["hostdevs"] as? [String] ?? []
        #expect(
            hostdevs.count == 2 && hostdevs[0].contains("<acpi nodeset='1-8'/>")
                && hostdevs[1].contains("<acpi nodeset='9-16'/>"), "\(hostdevs)")
        #expect(
            np["qemuCommandline"] == nil || np["qemuCommandline"] is NSNull,
            "no <qemu:commandline> for libvirt 11.8: \(new.stdout)")
        #expect(np["numaCells"] as? [String] == (1...16).map { "<cell id='\($0)' memory='0' unit='KiB'/>" })
        #expect(new.stderr.contains("creates one acpi-generic-initiator per node"), "\(new.stderr)")
        let newXML = Self.domain(np)
        let v12 = try Self.validate(newXML, schemas: sid)
        #expect(v12.status == 0, "libvirt 12 schemas reject the <acpi nodeset> form: \(v12.stderr)\n\(newXML)")
        let v9 = try LibvirtXMLTests.validate(newXML)
        #expect(v9.status != 0, "the installed libvirt 9.0 schemas must not know <acpi nodeset> in <hostdev>")

        for older in ["11.3", "11.7.0"] {
            let old = try HV.vg(grace, base + ["--libvirt-version", older])
            #expect(old.status == 0, "\(old.stderr)")
            let op = try LibvirtXMLTests.pieces(old)
            #expect(!old.stdout.contains("acpi nodeset"), "\(older): \(old.stdout)")
            let q = op["qemuCommandline"] as? String ?? ""
            #expect(
                q.contains("acpi-generic-initiator,id=gi15,pci-dev=ua-hostdev-0019-01-00-0,node=16"), "\(older): \(q)")
            let v = try Self.validate(Self.domain(op), schemas: sid)
            #expect(v.status == 0, "\(older): \(v.stderr)")
        }

        let bad = try HV.vg(grace, base + ["--libvirt-version", "eleven"])
        #expect(bad.status == 2 && bad.stderr.contains("--libvirt-version 'eleven'"), "\(bad.status) \(bad.stderr)")
        // Without --libvirt-version the installed libvirt is asked (Debian 12: 9.0 -> the old form).
        let asked = try HV.vg(grace, base)
        #expect(
            asked.status == 0 && asked.stderr.contains("libvirt 9.0.0") && !asked.stdout.contains("acpi nodeset"),
            "\(asked.stderr)")
    }
}
