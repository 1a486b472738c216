import Foundation
import HostKit
import Reconcile
import TestSupport
import Testing

@Suite struct HostConfigParserTests {
    static let nvidiaFile = TestSupport.sharedFile("data/vgpu-device-manager-config-example.yaml")

    @Test func readsOwnFormat() throws {
        let text = """
            version: 1
            configs:
              default:
                - select: {address: "0000:18:00.0"}
                  mode: vgpu
                  vfs: 8
                  types: {H100XM-10C: {vm-a: 2, vm-b: 1}, H100XM-20C: 1}
                - select: {deviceID: "10de:2330"}
                  mode: passthrough
                - select: {serial: "00-1b-21-ff-fe-8a-0b-0c"}
                  mode: host
                - select: all
                  mode: vgpu
                  vfs: 4
                  vfioHandoff: true
              other:
                - select: all
                  mode: host
            """
        let cfgs = try HostConfigParser.parse(text, file: "h.yaml")
        #expect(cfgs.map(\.name) == ["default", "other"])
        let r = cfgs[0].rules
        #expect(r[0].selector == .address(PCIAddress("0000:18:00.0")!))
        #expect(r[0].location == "h.yaml:4:7")
        guard case .vgpu(let spec) = r[0].mode else {
            Issue.record("mode")
            return
        }
        #expect(spec.vfs == 8 && spec.vfCount == 8)
        #expect(
            spec.types == [
                .init(type: "H100XM-10C", count: 2, guest: "vm-a"), .init(type: "H100XM-10C", count: 1, guest: "vm-b"),
                .init(type: "H100XM-20C", count: 1),
            ])
        #expect(r[1].selector == .deviceID(vendor: 0x10de, device: 0x2330) && r[1].mode == .passthrough)
        #expect(r[2].selector == .serial(0x001b_21ff_fe8a_0b0c) && r[2].mode == .host)
        #expect(r[3].selector == .all && r[3].mode == .vgpu(.init(vfs: 4, types: [], vfioHandoff: true)))
    }

    /// Untyped VFs for named guests (generic SR-IOV), and the guests a config names.
    @Test func readsGuestsOfUntypedVFs() throws {
        let text =
            "version: 1\nconfigs:\n  g:\n    - select: all\n      mode: vgpu\n      types: {A-1: {vm-x: 1}}\n      guests: {vm-a: 2, vm-b: 1}\n      vfioHandoff: true\n"
        let cfg = try #require(try HostConfigParser.parse(text, file: "g.yaml").first)
        guard case .vgpu(let spec) = cfg.rules[0].mode else {
            Issue.record("mode")
            return
        }
        #expect(spec.guestVFs == [.init(guest: "vm-a", count: 2), .init(guest: "vm-b", count: 1)])
        #expect(spec.vfCount == 4)
        #expect(cfg.guests == ["vm-a": 2, "vm-b": 1, "vm-x": 1])
    }

    @Test func everyConfigOfNVIDIAsExampleFileLoads() throws {
        let text = try String(contentsOfFile: Self.nvidiaFile, encoding: .utf8)
        let cfgs = try HostConfigParser.load(path: Self.nvidiaFile)
        // One config per key under vgpu-configs (4-space indented names).
        let names = text.split(separator: "\n").filter {
            $0.hasPrefix("    ") && !$0.hasPrefix("     ") && $0.hasSuffix(":")
        }
        #expect(cfgs.count == names.count)
        #expect(cfgs.count > 100)
        let h100 = try #require(cfgs.first { $0.name == "H100XM-10C" })
        #expect(h100.rules.count == 1 && h100.rules[0].selector == .all)
        #expect(
            h100.rules[0].mode
                == .vgpu(.init(vfs: nil, types: [.init(type: "H100XM-10C", count: 8)], vfioHandoff: false)))
        let def = try #require(cfgs.first { $0.name == "default" })
        let gh = try #require(def.rules.first { $0.selector == .deviceID(vendor: 0x10de, device: 0x2342) })
        guard case .vgpu(let s) = gh.mode else {
            Issue.record("GH200 default")
            return
        }
        #expect(s.types.first?.type.hasPrefix("GH200") == true)
    }

    @Test func loadChoosesTheNamedOrDefaultConfig() throws {
        let c = try HostConfigParser.load(path: Self.nvidiaFile, config: nil)
        #expect(c.name == "default")
        #expect(try HostConfigParser.load(path: Self.nvidiaFile, config: "A2-4C").name == "A2-4C")
        #expect { try HostConfigParser.load(path: Self.nvidiaFile, config: "nope") } throws: { e in
            (e as? ReconcileError)?.status == .invalidInput
                && (e as? ReconcileError)?.message.contains("no config named 'nope'") == true
        }
    }

    /// Each bad file: the error names file:line:column and the offending key or value.
    @Test(arguments: [
        ("version: 1\nconfigs:\n  a:\n    - select: all\n      mode: vgpuu\n", "bad.yaml:5:13", "unknown mode 'vgpuu'"),
        (
            "version: 1\nconfigs:\n  a:\n    - select: all\n      mode: host\n      colour: red\n", "bad.yaml:6:7",
            "unknown key 'colour'"
        ),
        (
            "version: 1\nconfigs:\n  a:\n    - select: {address: \"0000:zz:00.0\"}\n      mode: host\n",
            "bad.yaml:4:25", "'0000:zz:00.0' is not a PCI address"
        ),
        (
            "version: 1\nconfigs:\n  a:\n    - select: all\n      mode: vgpu\n      vfs: many\n", "bad.yaml:6:12",
            "'vfs' must be a whole number"
        ),
        (
            "version: 1\nconfigs:\n  a:\n    - select: all\n      mode: vgpu\n      vfs: 2\n      types: {A-1: 3}\n",
            "bad.yaml:6:12", "fewer than the 3 VFs"
        ),
        (
            "version: 1\nconfigs:\n  a:\n    - select: all\n      mode: host\n      vfs: 2\n", "bad.yaml:6:7",
            "'vfs' only goes with 'mode: vgpu'"
        ),
        (
            "version: 1\nconfigs:\n  a:\n    - select: {pci: x}\n      mode: host\n", "bad.yaml:4:16",
            "unknown selector 'pci'"
        ),
        ("version: 2\nconfigs: {}\n", "bad.yaml:1:10", "unsupported version '2'"),
        ("version: 1\nconfigs:\n  a:\n    - select: all\n     mode: host\n", "bad.yaml:5:", "YAML syntax error"),
        (
            "version: v1\nvgpu-configs:\n  x:\n    - devices: [0, one]\n      vgpu-devices: {A2-1Q: 16}\n",
            "bad.yaml:4:20", "'devices' must be a whole number"
        ),
        (
            "version: v1\nvgpu-configs:\n  x:\n    - devices: all\n      device-filter: \"0xZZ\"\n      vgpu-devices: {A2-1Q: 16}\n",
            "bad.yaml:5:22", "'device-filter'"
        ),
        (
            "version: v1\nvgpu-configs:\n  x:\n    - devices: all\n      vgpu-device: {A2-1Q: 16}\n", "bad.yaml:5:7",
            "unknown key 'vgpu-device'"
        ),
        ("", "bad.yaml:1:1", "empty"),
        (
            "version: 1\nconfigs:\n  a:\n    - select: all\n      mode: vgpu\n      guests: [vm-a]\n", "bad.yaml:6:15",
            "'guests' must map guest names to VF counts"
        ),
        (
            "version: 1\nconfigs:\n  a:\n    - select: all\n      mode: vgpu\n      vfs: 1\n      guests: {vm-a: 2}\n",
            "bad.yaml:6:12", "fewer than the 2 VFs the types and guests ask for"
        ),
        (
            "version: 1\nconfigs:\n  a:\n    - select: all\n      mode: host\n      guests: {vm-a: 1}\n",
            "bad.yaml:6:7", "'guests' only goes with 'mode: vgpu'"
        ),
    ])
    func badFilesNameFileLineColumn(text: String, location: String, words: String) {
        #expect { try HostConfigParser.parse(text, file: "bad.yaml") } throws: { e in
            guard let v = e as? ReconcileError, v.status == .invalidInput else { return false }
            let ok = v.message.hasPrefix(location) && v.message.contains(words)
            if !ok { Issue.record("got: \(v.message)") }
            return ok
        }
    }
}
