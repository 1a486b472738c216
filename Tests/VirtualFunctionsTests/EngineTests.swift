import Foundation
import HostKit
import HostSim
import SimGPU
import TestSupport
import Testing
import VGPUTypes
import VirtualFunctions

/// Engine enumeration and BAR1 windows per VF (stage 3): what the simulated firmware reports
/// about each VF's channels, copy engines and BAR1 window, checked against vgpuctl's book and
/// the VF's BAR1 in sysfs. Through the CLI on a simulated h100x8 with the upstream interface;
/// `VGPUCTL_STUB_FWCTL_FAULT` makes gsp-stub misreport.
@Suite(.serialized) struct EngineTests {
    static let pf = VF.h100
    static let vfs = ["0000:18:00.4", "0000:18:00.5", "0000:18:00.6"]
    static let gib: UInt64 = 1 << 30

    /// An upstream h100x8 with H100XM-10C on VFs 0 and 1 (the firmware reporting truly).
    static func typedHost() throws -> HostRoot {
        let root = try VF.host("h100x8", .upstream)
        let r = try VF.run(root, ["vf", "create", pf.description, "--type", "H100XM-10C", "--count", "2"])
        try #require(r.status == 0, "vf create: \(r.stderr)")
        return root
    }

    /// `vf list PF --json`'s VFs, by address.
    static func listed(_ root: HostRoot, fault: String? = nil) throws -> [String: [String: Any]] {
        let r = try VF.run(
            root, ["vf", "list", pf.description, "--json"], environment: ["VGPUCTL_STUB_FWCTL_FAULT": fault])
        try #require(r.status == 0, "vf list: \(r.stderr)")
        let pfs = try VF.json(r)["pfs"] as? [[String: Any]] ?? []
        let vfs = pfs.first?["vfs"] as? [[String: Any]] ?? []
        return Dictionary(uniqueKeysWithValues: vfs.compactMap { v in (v["address"] as? String).map { ($0, v) } })
    }

    /// VF `i`'s BAR1 as its sysfs resource shows it.
    static func bar1(_ root: HostRoot, _ i: Int) throws -> SysfsParse.Resource {
        let rs = SysfsReader(root: root).resources(try #require(PCIAddress(vfs[i])))
        try #require(rs.count > 1)
        return rs[1]
    }

    static func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }

    @Test func firmwareThatReportsWhatTheBookSaysPasses() throws {
        let root = try Self.typedHost()
        let t = try #require(try VF.catalog("H100XM").type(named: "H100XM-10C"))
        let listed = try Self.listed(root)
        for (i, vf) in Self.vfs.prefix(2).enumerated() {
            let e = try #require(listed[vf]?["engines"] as? [String: Any], "\(vf): \(String(describing: listed[vf]))")
            let channels = try #require(e["channels"] as? [String: Int])
            let book = try #require(e["book"] as? [String: Any])
            #expect(channels == ["offset": i * t.channels, "count": t.channels], "\(vf)")
            #expect(book["channels"] as? [String: Int] == channels, "\(vf)")
            #expect(e["copyEngines"] as? [Int] == Array(0..<8) && book["copyEngines"] as? [Int] == Array(0..<8))
            let bar = try Self.bar1(root, i)
            let window = ["address": Int(bar.start), "size": Int(4 * Self.gib)]
            #expect(e["bar1"] as? [String: Int] == window && e["vfBar1"] as? [String: Int] == window, "\(vf): \(e)")
            #expect(e["problems"] as? [String] == [], "\(vf)")
        }
        #expect(listed[Self.vfs[2]]?["engines"] is NSNull, "an untyped VF has no report")

        let table = try VF.run(root, ["vf", "list", Self.pf.description])
        #expect(
            table.stdout.contains("FIRMWARE CH/CE/BAR1") && table.stdout.contains("256/8/4 GiB  "), "\(table.stdout)")
        #expect(!table.stdout.contains("problem:") && !table.stdout.contains(" !"), "\(table.stdout)")
        let assign = try VF.run(root, ["vf", "assign", Self.vfs[2], "--type", "H100XM-10C"])
        #expect(assign.status == 0 && assign.stdout.contains("hand it to a VM"), "\(assign.stderr)")
        let passthrough = try VF.run(root, ["passthrough", "assign", Self.vfs[0]])
        #expect(passthrough.status == 0 && passthrough.stdout.contains("-> vfio-pci"), "\(passthrough.stderr)")
    }

    /// The firmware gives a VF fewer channels or copy engines than its type's book entry:
    /// listed as a problem, and `vf assign` does not hand the VF on (exit 1).
    @Test(arguments: [
        (
            "short-channels",
            "0000:18:00.4 (VF 0, H100XM-10C): the firmware reports 128 channels (0..<128), fewer than the 256 the book's H100XM-10C entry promises (0..<256)",
            "0000:18:00.6 (VF 2, H100XM-10C): the firmware reports 128 channels (512..<640), fewer than the 256 the book's H100XM-10C entry promises (512..<768)",
            "128/8/4 GiB !"
        ),
        (
            "short-engines",
            "0000:18:00.4 (VF 0, H100XM-10C): the firmware reports 7 copy engines (0, 1, 2, 3, 4, 5, 6), fewer than the 8 the book's H100XM-10C entry promises (0, 1, 2, 3, 4, 5, 6, 7)",
            "0000:18:00.6 (VF 2, H100XM-10C): the firmware reports 7 copy engines (0, 1, 2, 3, 4, 5, 6), fewer than the 8 the book's H100XM-10C entry promises (0, 1, 2, 3, 4, 5, 6, 7)",
            "256/7/4 GiB !"
        ),
    ])
    func shortRangeIsReportedAndRefused(_ c: (fault: String, listed: String, refused: String, column: String)) throws {
        let root = try Self.typedHost()
        let listed = try Self.listed(root, fault: c.fault)
        let e = try #require(listed[Self.vfs[0]]?["engines"] as? [String: Any])
        #expect(e["problems"] as? [String] == [c.listed], "\(c.fault): \(e)")

        let env = ["VGPUCTL_STUB_FWCTL_FAULT": c.fault]
        let table = try VF.run(root, ["vf", "list", Self.pf.description], environment: env)
        #expect(table.stdout.contains(c.column) && table.stdout.contains("problem: \(c.listed)\n"), "\(table.stdout)")

        let assign = try VF.run(root, ["vf", "assign", Self.vfs[2], "--type", "H100XM-10C"], environment: env)
        #expect(assign.status == 1, "\(c.fault): \(assign.stdout)")
        #expect(
            assign.stderr.contains(
                "0000:18:00.6 carries H100XM-10C but is not handed on: \(c.refused); the firmware does not give the VF what its type needs (clear it with 'vgpuctl vf clear 0000:18:00.6' and check the GPU's firmware)"
            ), "\(c.fault): \(assign.stderr)")
        #expect(!assign.stdout.contains("hand it to a VM"), "\(assign.stdout)")
    }

    /// The firmware reports a BAR1 window twice the VF's BAR1: larger than the BAR and
    /// overlapping the next VF's window. Listed; `passthrough assign` and `vf create` do not hand
    /// the VFs on.
    @Test func bar1WindowLargerThanTheVFBARIsReportedAndRefused() throws {
        let root = try Self.typedHost()
        let (b0, b1) = (try Self.bar1(root, 0), try Self.bar1(root, 1))
        #expect(b0.size == 4 * Self.gib && b1.start == b0.start + 4 * Self.gib, "\(b0) \(b1)")
        let larger =
            "0000:18:00.4 (VF 0, H100XM-10C): the firmware's BAR1 window (8 GiB at \(Self.hex(b0.start))) is larger than the VF's BAR1 (4 GiB at \(Self.hex(b0.start)), its sysfs resource)"
        let overlap =
            "0000:18:00.4 (VF 0, H100XM-10C) and 0000:18:00.5 (VF 1, H100XM-10C): the firmware's BAR1 windows overlap (8 GiB at \(Self.hex(b0.start)); 8 GiB at \(Self.hex(b1.start)))"
        let listed = try Self.listed(root, fault: "wide-bar1")
        let e = try #require(listed[Self.vfs[0]]?["engines"] as? [String: Any])
        #expect(e["problems"] as? [String] == [larger, overlap], "\(e)")
        #expect(e["bar1"] as? [String: Int] == ["address": Int(b0.start), "size": Int(8 * Self.gib)])
        #expect(e["vfBar1"] as? [String: Int] == ["address": Int(b0.start), "size": Int(4 * Self.gib)])
        let second = try #require(listed[Self.vfs[1]]?["engines"] as? [String: Any])
        #expect((second["problems"] as? [String])?.contains(overlap) == true, "the overlap names both VFs")

        let passthrough = try VF.run(
            root, ["passthrough", "assign", Self.vfs[0]], environment: ["VGPUCTL_STUB_FWCTL_FAULT": "wide-bar1"])
        #expect(passthrough.status == 1, "\(passthrough.stdout)")
        #expect(
            passthrough.stderr.contains("0000:18:00.4 carries H100XM-10C but is not handed on: \(larger); \(overlap);"),
            "\(passthrough.stderr)")
        #expect(
            SysfsReader(root: root).device(try #require(PCIAddress(Self.vfs[0])))?.driver == nil,
            "the VF stays unbound")

        let create = try VF.run(
            root, ["vf", "create", Self.pf.description, "--type", "H100XM-10C", "--vf", "0000:18:00.6"],
            environment: ["VGPUCTL_STUB_FWCTL_FAULT": "wide-bar1"])
        #expect(create.status == 1, "\(create.stdout)")
        #expect(
            create.stderr.contains(
                "0000:18:00.0: the VFs have their types but are not handed on: 0000:18:00.6 (VF 2, H100XM-10C): the firmware's BAR1 window (8 GiB at \(Self.hex(b0.start + 8 * Self.gib)))"
            ), "\(create.stderr)")
    }

    /// The check itself: overlapping channel ranges, and MIG-backed VFs sharing copy engines
    /// their GPU instances own alone (time-sliced VFs share the GPU's engines by design).
    @Test func overlapsBetweenVFsAreProblems() throws {
        let c = try VF.catalog("H100XM")
        var book = GPUBook(catalog: c)
        let mig = try #require(c.type(named: "H100XM-1-10C"))
        let a = try book.place(mig, vf: 0)
        let b = try book.place(mig, vf: 1)
        #expect(Set(a.copyEngines).isDisjoint(with: b.copyEngines), "the book gives MIG VFs engines of their own")
        let reports = [
            0: VFFirmwareReport(vf: 0, type: mig.name, channels: a.channels, copyEngines: [0]),
            1: VFFirmwareReport(
                vf: 1, type: mig.name, channels: GPUBook.Span(offset: a.channels.offset, count: b.channels.count),
                copyEngines: [0]),
        ]
        let addresses = [0: try #require(PCIAddress(Self.vfs[0])), 1: try #require(PCIAddress(Self.vfs[1]))]
        let problems = EngineCheck.problems(book: book, reports: reports, addresses: addresses, vfBAR1: [:])
        #expect(
            problems.map(\.message) == [
                "0000:18:00.4 (VF 0, H100XM-1-10C) and 0000:18:00.5 (VF 1, H100XM-1-10C): the firmware reports overlapping channel ranges \(a.channels) and \(a.channels.offset)..<\(a.channels.offset + b.channels.count)",
                "0000:18:00.4 (VF 0, H100XM-1-10C) and 0000:18:00.5 (VF 1, H100XM-1-10C): the firmware gives both copy engine 0, which each one's GPU instance owns alone",
            ])
        #expect(
            problems.map(\.kind) == [.channelOverlap, .copyEngineOverlap] && problems.allSatisfy { $0.vfs == [0, 1] })

        // Time-sliced VFs share engines: the same report is no problem for them.
        var shared = GPUBook(catalog: c)
        let ts = try #require(c.type(named: "H100XM-10C"))
        let x = try shared.place(ts, vf: 0)
        let y = try shared.place(ts, vf: 1)
        let fine = EngineCheck.problems(
            book: shared,
            reports: [
                0: VFFirmwareReport(vf: 0, type: ts.name, channels: x.channels, copyEngines: x.copyEngines),
                1: VFFirmwareReport(vf: 1, type: ts.name, channels: y.channels, copyEngines: y.copyEngines),
            ], addresses: addresses, vfBAR1: [:])
        #expect(fine.isEmpty, "\(fine)")
    }
}
