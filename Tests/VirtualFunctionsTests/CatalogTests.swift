import Foundation
import HostKit
import TestSupport
import Testing
import VGPUTypes
import VirtualFunctions
import Yams

/// The built-in catalogs agree with NVIDIA's vgpu-device-manager file, and a malformed profile
/// file is reported with file:line:column and what is wrong.
@Suite struct CatalogTests {
    static let dataFile = TestSupport.repositoryDirectory + "/../shared/data/vgpu-device-manager-config-example.yaml"

    /// Type name -> NVIDIA's maximum per GPU, and device id -> a type of its default config.
    static func dataFacts() throws -> (counts: [String: Int], defaults: [UInt16: String]) {
        let text = try String(contentsOfFile: dataFile, encoding: .utf8)
        let root = try #require(try Yams.compose(yaml: text)?.mapping?["vgpu-configs"]?.mapping)
        var counts: [String: Int] = [:]
        var defaults: [UInt16: String] = [:]
        for (k, v) in root {
            for entry in v.sequence ?? [] {
                guard let devices = entry.mapping?["vgpu-devices"]?.mapping else { continue }
                for (t, n) in devices {
                    if k.string == "default" {
                        if let f = entry.mapping?["device-filter"]?.string, let id = UInt32(f.dropFirst(2), radix: 16) {
                            defaults[UInt16(id >> 16)] = t.string
                        }
                    } else if let name = t.string, let c = n.int {
                        counts[name] = c
                    }
                }
            }
        }
        return (counts, defaults)
    }

    @Test func everyBuiltInCatalogLoads() throws {
        let set = try VF.catalogs()
        #expect(Set(set.catalogs.map(\.name)) == ["A2", "GB200", "GH200", "H100", "H100XM", "H200X", "L40S"])
        for c in set.catalogs { #expect(!c.types.isEmpty && c.gpu.unitMiB > 0, "\(c.name)") }
    }

    @Test func namesAndMaximaComeFromNVIDIAsFile() throws {
        let (counts, defaults) = try Self.dataFacts()
        for c in try VF.catalogs().catalogs {
            var matched = 0
            for t in c.types {
                guard let n = counts[t.name] else { continue }  // L40S B/A types: not in the file (assumed)
                #expect(t.maxInstances == n, "\(t.name): catalog \(t.maxInstances), NVIDIA \(n)")
                matched += 1
            }
            #expect(matched > 0, "\(c.name) matches no type of the data file")
            // Its device ids map to its own types in the file's default config.
            for id in c.gpu.deviceIDs {
                let d = try #require(defaults[id], "0x\(hex(id, 4)) is not in the default config")
                #expect(d.hasPrefix(c.name + "-"), "0x\(hex(id, 4)) -> \(d), catalog \(c.name)")
            }
            // Every type of the family in the file is in the catalog (frame buffer in the name).
            for (name, _) in counts
            where name.hasPrefix(c.name + "-") && name.dropFirst(c.name.count + 1).first?.isNumber == true {
                let t = try #require(c.type(named: name), "\(name) missing from catalog \(c.name)")
                let gb = Int(name.split(separator: "-").last!.prefix { $0.isNumber })!
                #expect(t.nominalMiB == gb * 1024)
                #expect(t.framebufferMiB <= t.placementSize * c.gpu.unitMiB)
            }
        }
    }

    @Test func derivedValuesOfH100XM() throws {
        let c = try VF.catalog("H100XM")
        #expect(c.gpu.usableMiB == 81920 - 581)
        #expect(c.gpu.unitMiB == 1016)
        let t10 = try #require(c.type(named: "H100XM-10C"))
        #expect(t10.placementSize == 10 && t10.framebufferMiB == 10160 && t10.channels == 256)
        #expect(t10.placements == [0, 10, 20, 30, 40, 50, 60, 70])
        let mig = try #require(c.type(named: "H100XM-3-40C"))
        #expect(mig.placements == [0, 40] && mig.copyEngines == 3 && mig.channels == 1024)
    }

    /// A profile file with one defect, and what the message must say.
    static let malformed: [(String, String, [String])] = [
        (
            "unknown key",
            """
            catalog: H100XM
            gpu: {name: X, deviceIDs: [0x2330], framebufferMiB: 81920, channels: 2048, copyEngines: 8, vfSlots: 32}
            types:
              - {name: H100XM-10C, id: 1, maxInstance: 8}
            """, [":4:31:", "unknown key 'maxInstance'", "maxInstances"]
        ),
        (
            "not a number",
            """
            catalog: H100XM
            gpu: {name: X, deviceIDs: [0x2330], framebufferMiB: lots, channels: 2048, copyEngines: 8, vfSlots: 32}
            types:
              - {name: H100XM-10C, id: 1, maxInstances: 8}
            """, [":2:53:", "'framebufferMiB' must be a whole number", "'lots'"]
        ),
        (
            "name of another catalog",
            """
            catalog: H100XM
            gpu: {name: X, deviceIDs: [0x2330], framebufferMiB: 81920, channels: 2048, copyEngines: 8, vfSlots: 32}
            types:
              - {name: H100-10C, id: 1, maxInstances: 8}
            """, [":4:12:", "H100XM-<GB><series>"]
        ),
        (
            "too many instances",
            """
            catalog: H100XM
            gpu: {name: X, deviceIDs: [0x2330], framebufferMiB: 81920, channels: 2048, copyEngines: 8, vfSlots: 32, placementUnits: 80}
            types:
              - {name: H100XM-10C, id: 1, maxInstances: 8, placementSize: 20}
            """, [":4:45:", "8 instances of 20 units do not fit", "(4 fit)"]
        ),
        (
            "YAML syntax",
            """
            catalog: H100XM
            gpu: {name: X, deviceIDs: [0x2330
            types: []
            """, ["YAML syntax error"]
        ),
        (
            "channels not a power of two",
            """
            catalog: H100XM
            gpu: {name: X, deviceIDs: [0x2330], framebufferMiB: 81920, channels: 2000, copyEngines: 8, vfSlots: 32}
            types:
              - {name: H100XM-10C, id: 1, maxInstances: 8}
            """, [":2:70:", "power of two"]
        ),
        (
            "a key twice",
            """
            catalog: H100XM
            gpu: {name: X, deviceIDs: [0x2330], framebufferMiB: 81920, channels: 2048, framebufferMiB: 40960, copyEngines: 8, vfSlots: 32}
            types:
              - {name: H100XM-10C, id: 1, maxInstances: 8}
            """, ["bad.yaml:", "duplicate key framebufferMiB"]
        ),
    ]

    /// The reader converts every scalar itself (no YAML tag is resolved), so quoting a key or a
    /// value, hex or decimal, and `yes` or `true` give the same catalog.
    @Test func quotingAndSpellingOfScalarsDoNotChangeTheCatalog() throws {
        let plain = """
            catalog: H100XM
            gpu: {name: X, deviceIDs: [0x2330], framebufferMiB: 81920, channels: 2048, copyEngines: 8, vfSlots: 32, heterogeneous: true}
            types:
              - {name: H100XM-10C, id: 1, maxInstances: 8}
            """
        let quoted = """
            "catalog": 'H100XM'
            gpu: {"name": "X", deviceIDs: ["9008"], framebufferMiB: "81920", 'channels': 0x800, copyEngines: '8', vfSlots: 32, heterogeneous: yes}
            types:
              - {name: "H100XM-10C", "id": "0x1", maxInstances: '8'}
            """
        let a = try VGPUCatalogParser.parse(plain, file: "a.yaml")
        let b = try VGPUCatalogParser.parse(quoted, file: "a.yaml")
        #expect(a == b)
        #expect(a.gpu.deviceIDs == [0x2330] && a.gpu.heterogeneous && a.types.map(\.id) == [1])
    }

    @Test(arguments: 0..<malformed.count)
    func malformedProfileFileNamesLineColumnAndWhat(_ i: Int) throws {
        let (label, text, words) = Self.malformed[i]
        do {
            _ = try VGPUCatalogParser.parse(text, file: "bad.yaml")
            Issue.record("\(label): parsed")
        } catch {
            #expect(error.message.hasPrefix("bad.yaml:"), "\(label): \(error.message)")
            for w in words { #expect(error.message.contains(w), "\(label): '\(w)' not in: \(error.message)") }
        }
    }

    @Test func operatorFileReplacesTheBuiltInCatalogForItsDevice() throws {
        let root = try TestSupport.simHost("h100x8")
        let dir = root.url(VGPUProfiles.userDirectory)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try """
        catalog: H100XM
        gpu: {name: My H100, deviceIDs: [0x2330], framebufferMiB: 81920, channels: 2048, copyEngines: 8, vfSlots: 32}
        types:
          - {name: H100XM-40C, id: 7, maxInstances: 2}
        """.write(toFile: dir + "/mine.yaml", atomically: true, encoding: .utf8)
        let p = try VGPUProfiles.load(root: root)
        let gpu = try #require(SysfsReader(root: root).device(VF.h100))
        #expect(p.catalog(for: gpu)?.gpu.name == "My H100")
        #expect(p.catalog(for: gpu)?.types.map(\.name) == ["H100XM-40C"])
        let e = #expect(throws: VGPUTypesError.self) { try p.type("H100XM-10C", for: gpu) }
        #expect(e?.code == .unknownType && e?.status == .invalidInput, "\(String(describing: e))")
    }
}
