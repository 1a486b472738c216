import Foundation
import HostKit
import TestSupport
import Testing
import VGPUTypes

@testable import HostSim
@testable import VirtualFunctions

/// The parsers read the real captures as they are, and the simulated driver writes the same
/// formats byte for byte.
@Suite struct FormatTests {
    static let data = TestSupport.repositoryDirectory + "/../shared/data/harvester-gpuhelper/sys"
    static var vendorDir: String { data + "/bus/pci/devices/0000:26:00.4/nvidia" }
    static var mdevTypes: String { data + "/class/mdev_bus/0000:08:01.7/mdev_supported_types" }

    static func read(_ path: String) throws -> String {
        try String(contentsOfFile: path, encoding: .utf8)
    }

    @Test func vendorCreatableListOfARealL40SVF() throws {
        let text = try Self.read(Self.vendorDir + "/creatable_vgpu_types")
        let list = try #require(VendorSysfsFormat.creatable(text))
        #expect(list.count == 23)
        #expect(list.first == .init(id: 1145, driverName: "NVIDIA L40S-1B"))
        #expect(list.last?.id == 2164 && list.last?.name == "L40S-3B")
        #expect(list.map(\.name).contains("L40S-48Q"))
        // The L40S catalog has every captured type under the captured id.
        let l40s = try VF.catalog("L40S")
        for t in list { #expect(l40s.type(named: t.name)?.id == t.id, "\(t.name)") }
    }

    @Test func vendorSmallFilesOfARealVF() throws {
        #expect(VendorSysfsFormat.currentType(try Self.read(Self.vendorDir + "/current_vgpu_type")) == nil)  // "0"
        #expect(VendorSysfsFormat.currentType("1561\n") == 1561)
        #expect(VendorSysfsFormat.optionalNumber(try Self.read(Self.vendorDir + "/placement_id")) == nil)  // empty
        #expect(VendorSysfsFormat.optionalNumber("0\n") == 0)
        #expect(VendorSysfsFormat.creatable("ID    : vGPU Name\n") == [])  // a full GPU: header only
        #expect(VendorSysfsFormat.creatable("garbage\n") == nil)
    }

    @Test func simulatedDriverWritesTheCapturedCreatableFormatByteForByte() throws {
        let text = try Self.read(Self.vendorDir + "/creatable_vgpu_types")
        let list = try #require(VendorSysfsFormat.creatable(text))
        let rendered = VendorFiles.creatable(list.map { (id: $0.id, name: $0.name) })
        #expect(rendered == text)
    }

    @Test func mdevFilesOfARealA2VF() throws {
        let a2 = try VF.catalog("A2")
        let dirs = try FileManager.default.contentsOfDirectory(atPath: Self.mdevTypes).sorted()
        #expect(dirs.count == 15)
        for d in dirs {
            let base = Self.mdevTypes + "/" + d
            let name = VGPUNames.profileName(try Self.read(base + "/name"))
            let descText = try Self.read(base + "/description")
            let desc = try #require(MdevFormat.description(descText), "\(d)")
            let t = try #require(a2.type(named: name), "\(name)")
            #expect(MdevFormat.typeID(d) == t.id)
            #expect(desc.framebufferMiB == t.nominalMiB, "\(d)")
            #expect(desc.maxInstances == t.maxInstances, "\(d)")
            #expect(MdevFormat.availableInstances(try Self.read(base + "/available_instances")) != nil)
            // The simulated driver prints the same description, byte for byte.
            #expect(VendorFiles.mdevDescription(t) == descText, "\(d)")
        }
        let d = try #require(
            MdevFormat.description(
                "num_heads=4, frl_config=45, framebuffer=1024M, max_resolution=5120x2880, max_instance=16"))
        #expect(d.heads == 4 && d.frameRateLimit == 45 && d.maxResolution == "5120x2880")
        #expect(MdevFormat.description("framebuffer") == nil)
    }

    /// On the captured A2 VF only the 4096M types show available_instances 1: the homogeneous
    /// rule (one frame-buffer size per GPU) with a 4 GB vGPU elsewhere on the GPU gives the same.
    @Test func homogeneousRuleReproducesTheCapturedAvailability() throws {
        let dirs = try FileManager.default.contentsOfDirectory(atPath: Self.mdevTypes)
        var captured: Set<String> = []
        for d in dirs
        where MdevFormat.availableInstances(try Self.read(Self.mdevTypes + "/\(d)/available_instances")) == 1 {
            captured.insert(VGPUNames.profileName(try Self.read(Self.mdevTypes + "/\(d)/name")))
        }
        let a2 = try VF.catalog("A2")
        var book = GPUBook(catalog: a2)
        try book.place(try #require(a2.type(named: "A2-4C")), vf: 0)
        let fits = Set(a2.types.filter { (try? book.fit($0, vf: 7)) != nil }.map(\.name))
        #expect(fits == captured)
        #expect(captured == ["A2-4Q", "A2-4A", "A2-4C"])
    }

    @Test func sha1AndNameBasedUUIDs() {
        #expect(SHA1.hash(Array("abc".utf8)).map { hex($0, 2) }.joined() == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(SHA1.hash([]).map { hex($0, 2) }.joined() == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(
            SHA1.hash(Array(repeating: UInt8(ascii: "a"), count: 1000)).map { hex($0, 2) }.joined()
                == "291e9a6c66994949b57ba5e650361e98fc36b1ba")
        // RFC 9562's DNS namespace and "python.org" (the example Python's uuid module documents).
        let dns: [UInt8] = [
            0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8,
        ]
        #expect(
            MdevUUID.text(MdevUUID.v5(namespace: dns, name: "python.org")) == "886313e1-3b8a-5372-9b90-0c9aee199e5d")
        #expect(MdevUUID.text(MdevUUID.namespace) == "552656cd-04e7-51a4-ac5d-7bf4ca39ac5e")
        let u = MdevUUID.uuid(pf: VF.h100, vfIndex: 0, type: "H100XM-10C")
        #expect(u == "e85d6366-a555-5bea-aad1-ce6c540a53ee")
        #expect(MdevUUID.isUUID(u))
        #expect(u == MdevUUID.uuid(pf: VF.h100, vfIndex: 0, type: "H100XM-10C"))
        #expect(u != MdevUUID.uuid(pf: VF.h100, vfIndex: 1, type: "H100XM-10C"))
        #expect(u != MdevUUID.uuid(pf: VF.otherH100, vfIndex: 0, type: "H100XM-10C"))
        #expect(u != MdevUUID.uuid(pf: VF.h100, vfIndex: 0, type: "H100XM-20C"))
    }
}
