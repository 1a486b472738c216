import HostKit
import Hypervisor
import Testing

/// The XML reader the libvirt hook uses on the domain XML from stdin.
@Suite struct DomainXMLTests {
    static let domain = """
        <?xml version="1.0"?>
        <!-- written by libvirt -->
        <domain type='kvm' xmlns:qemu="http://libvirt.org/schemas/domain/qemu/1.0">
          <name>web&amp;db</name>
          <devices>
            <disk type='file'><source file='/var/lib/a &lt;b&gt;.img'/></disk>
            <hostdev mode='subsystem' type='pci' managed='yes'>
              <source><address domain='0x0000' bus='0x06' slot='0x02' function='0x0'/></source>
            </hostdev>
            <hostdev mode="subsystem" type="pci">
              <source><address bus='3' slot='0' function='1'/></source>
              <address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/>
            </hostdev>
            <hostdev mode='subsystem' type='mdev' model='vfio-pci'>
              <source><address uuid='C2177883-F1BB-47F0-914D-32A22E3A8804'/></source>
            </hostdev>
            <hostdev mode='subsystem' type='usb'><source><vendor id='0x1234'/><product id='0xbeef'/></source></hostdev>
            <interface type='hostdev'><source><address type='pci' domain='0' bus='4' slot='0' function='1'/></source></interface>
          </devices>
          <qemu:commandline><qemu:arg value='-S'/></qemu:commandline>
          <description><![CDATA[a <raw> text]]></description>
        </domain>
        """

    @Test func readsTheHostdevsLibvirtWrites() throws {
        let d = try DomainXML.parse(Self.domain)
        #expect(d.name == "web&db")
        #expect(
            d.hostdevs == [
                .pci(PCIAddress("0000:06:02.0")!, managed: true),
                .pci(PCIAddress("0000:03:00.1")!, managed: false),
                .mdev(uuid: "c2177883-f1bb-47f0-914d-32a22e3a8804"),
            ])
    }

    @Test func treeDetails() throws {
        let t = try XMLTree.parse("<a x=\"1\" y='&#x41;&#66;'>t<b/>u<![CDATA[<c>]]></a>")
        #expect(t.root.attributes == ["x": "1", "y": "AB"])
        #expect(t.root.text == "tu<c>")
        #expect(t.root.children.map(\.name) == ["b"])
    }

    @Test(arguments: [
        ("", "empty input"),
        ("<domain>", "never closed"),
        ("<domain></domian>", "</domian> closes <domain>"),
        ("<domain><name>x</domain>", "</domain> closes <name>"),
        ("<domain a='1' a='2'/>", "repeated"),
        ("<domain a=1/>", "quoted value"),
        ("<domain>&nbsp;</domain>", "unknown entity"),
        ("<domain/><domain/>", "text after the root element"),
        ("<!DOCTYPE domain [<!ENTITY x 'y'>]><domain/>", "DOCTYPE"),
        ("<domain><!-- a -- b --></domain>", "'--' inside a comment"),
        ("<domain a='<'/>", "'<' in the value"),
        ("just text", "expected '<'"),
        (
            "<domain><devices><hostdev type='pci'><source><address bus='0x100' slot='0'/></source></hostdev></devices></domain>",
            "'0x100' is not a valid PCI bus"
        ),
        (
            "<domain><devices><hostdev type='pci'><source><address bus='1' slot='32'/></source></hostdev></devices></domain>",
            "PCI slot"
        ),
        ("<domain><devices><hostdev type='pci'><source/></hostdev></devices></domain>", "without <source><address"),
        (
            "<domain><devices><hostdev type='pci'><source><address slot='1'/></source></hostdev></devices></domain>",
            "has no 'bus'"
        ),
        (
            "<domain><devices><hostdev type='mdev'><source><address uuid='x'/></source></hostdev></devices></domain>",
            "valid <source><address uuid"
        ),
        ("<network><name>n</name></network>", "root element is <network>"),
    ])
    func malformedInputIsNamed(input: String, words: String) {
        #expect {
            try DomainXML.parse(input)
        } throws: { e in
            let m = (e as? HypervisorError)?.message ?? ""
            return (e as? HypervisorError)?.status == .invalidInput && m.contains(words)
        }
    }

    @Test func errorsNameLineAndColumn() {
        #expect {
            try XMLTree.parse("<domain>\n  <name>x</nam>\n</domain>")
        } throws: { e in
            (e as? XMLTree.ParseError) == XMLTree.ParseError(line: 2, column: 10, reason: "</nam> closes <name>")
        }
    }

    @Test func deepNestingIsRefused() {
        let deep = String(repeating: "<a>", count: 100) + String(repeating: "</a>", count: 100)
        #expect(throws: XMLTree.ParseError.self) { try XMLTree.parse(deep) }
    }
}
