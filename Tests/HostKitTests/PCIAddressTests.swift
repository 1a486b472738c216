import HostKit
import Testing

@Suite struct PCIAddressTests {
    @Test(arguments: [
        ("0000:01:00.0", "0000:01:00.0"),
        ("0009:01:00.0", "0009:01:00.0"),
        ("01:00.1", "0000:01:00.1"),
        ("0000:E8:04.3", "0000:e8:04.3"),
        ("10000:00:1f.7", "10000:00:1f.7"),
    ])
    func parsesWellFormed(text: String, canonical: String) throws {
        let a = try #require(PCIAddress(text))
        #expect(a.description == canonical)
    }

    @Test(arguments: [
        "0000:zz:00.0", "../../etc", "", "0000:01:00", "0000:01:20.0", "0000:01:00.8",
        "0000:01:00.0/../x", "0000:001:00.0", " 0000:01:00.0", "0000:01:00.0\n", "0x00:01:00.0", "-1:01:00.0",
    ])
    func rejectsMalformed(text: String) {
        #expect(PCIAddress(text) == nil)
        #expect(throws: VGPUError.self) { try PCIAddress.parse(text) }
    }

    @Test func routingIDArithmeticMatchesTheA40Capture() throws {
        // real-captures.md: an A40 at e8:00.0 with VF offset 4, stride 1 has 32 VFs at
        // e8:00.4 .. e8:04.3.
        let pf = try #require(PCIAddress("0000:e8:00.0"))
        let vfs = (0..<32).map { PCIAddress(domain: 0, routingID: pf.routingID + 4 + UInt16($0)) }
        #expect(vfs.first?.description == "0000:e8:00.4")
        #expect(vfs.last?.description == "0000:e8:04.3")
    }

    @Test func ordersByDomainBusDeviceFunction() throws {
        let list = ["0001:00:00.0", "0000:02:00.0", "0000:01:01.0", "0000:01:00.7"].compactMap(PCIAddress.init).sorted()
        #expect(list.map(\.description) == ["0000:01:00.7", "0000:01:01.0", "0000:02:00.0", "0001:00:00.0"])
    }
}
