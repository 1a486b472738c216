import Foundation
import HostKit
import HostSim
import SimGPU
import TestSupport
import Testing
import VirtualFunctions

/// No VF is handed to a second tenant with the first tenant's data: a guest's writes into its
/// VF's frame-buffer region are gone when the VF gets a type again, and a clear interrupted
/// before the scrub leaves the VF refused until `recover` finishes the scrub. Through the CLI,
/// on a simulated h100x8, per vGPU interface.
@Suite(.serialized) struct ScrubTests {
    static let pf = VF.h100
    static let mib: UInt64 = 1 << 20
    static let pattern: [UInt8] = Array("tenant A secret \u{1}\u{2}\u{3}".utf8) + (0..<64).map { UInt8($0 | 0x80) }

    /// Creates `count` H100XM-10C VFs; returns their (address, index).
    static func create(_ root: HostRoot, count: Int) throws -> [(String, Int)] {
        let r = try VF.run(
            root, ["vf", "create", pf.description, "--type", "H100XM-10C", "--count", "\(count)", "--json"])
        try #require(r.status == 0, "\(r.stderr)")
        let created = try VF.json(r)["created"] as? [[String: Any]] ?? []
        return created.compactMap { c in (c["vf"] as? String).flatMap { v in (c["index"] as? Int).map { (v, $0) } } }
    }

    /// Where a guest of VF `index` writes: the start and the last bytes of its region.
    static func guestOffsets(_ root: HostRoot, _ index: Int) throws -> [UInt64] {
        let region = try #require(try SimVGPUDriver(root: root).region(vf: index, pf: pf))
        let start = UInt64(region.offsetMiB) * mib
        let end = start + UInt64(region.sizeMiB) * mib
        return [start, start + 3 * mib + 17, end - UInt64(pattern.count)]
    }

    static func writeAsGuest(_ root: HostRoot, _ offsets: [UInt64]) throws {
        for o in offsets { try SimFrameBuffer(root: root, pf: pf).write(pattern, at: o) }
    }

    static func read(_ root: HostRoot, _ offsets: [UInt64]) throws -> [[UInt8]] {
        try offsets.map { try SimFrameBuffer(root: root, pf: pf).read(at: $0, count: pattern.count) }
    }

    static let zeros = [UInt8](repeating: 0, count: pattern.count)

    @Test(arguments: [SimVGPUInterface.vendor, .upstream])
    func clearScrubsTheRegionAndOnlyIt(_ iface: SimVGPUInterface) throws {
        let root = try VF.host("h100x8", iface)
        let vfs = try Self.create(root, count: 2)
        try #require(vfs.count == 2)
        let (first, firstIndex) = vfs[0]
        let secondIndex = vfs[1].1
        let region = try #require(try SimVGPUDriver(root: root).region(vf: firstIndex, pf: Self.pf))
        let mine = try Self.guestOffsets(root, firstIndex)
        let neighbour = try Self.guestOffsets(root, secondIndex)
        try Self.writeAsGuest(root, mine + neighbour)
        #expect(
            try Self.read(root, mine) == Array(repeating: Self.pattern, count: 3),
            "the guest's writes must be there before the clear")

        let clear = try VF.run(root, ["vf", "clear", first])
        #expect(clear.status == 0, "\(iface): \(clear.stderr)")
        #expect(
            clear.stdout.contains(
                "scrubbed \(region.sizeMiB) MiB at \(region.offsetMiB) MiB (left by H100XM-10C on VF \(firstIndex))"),
            "\(iface): \(clear.stdout)")
        // Zeroed in the file system's blocks: at least the three patterns, at most three 4 KiB blocks each side.
        let zeroed = clear.stdout.split(separator: ":").last.flatMap { Int($0.split(separator: " ").first ?? "") } ?? -1
        #expect(zeroed >= 3 * Self.pattern.count && zeroed <= 3 * 8192, "\(iface): \(clear.stdout)")
        #expect(
            try Self.read(root, mine) == Array(repeating: Self.zeros, count: 3),
            "\(iface): tenant A's data survived the clear")
        #expect(
            try Self.read(root, neighbour) == Array(repeating: Self.pattern, count: 3),
            "\(iface): the scrub reached the neighbour VF's region")

        // The next tenant gets the VF with another type and reads zeros over its whole region.
        let assign = try VF.run(root, ["vf", "assign", first, "--type", "H100XM-10C", "--json"])
        #expect(assign.status == 0, "\(iface): \(assign.stderr)")
        let next = try Self.guestOffsets(root, firstIndex)
        #expect(
            try Self.read(root, next + mine) == Array(repeating: Self.zeros, count: 6),
            "\(iface): the second tenant reads the first one's data")
    }

    @Test(arguments: [SimVGPUInterface.vendor, .upstream])
    func crashBeforeScrubLeavesTheVFRefusedUntilRecover(_ iface: SimVGPUInterface) throws {
        let root = try VF.host("h100x8", iface)
        let vfs = try Self.create(root, count: 1)
        let (vf, index) = try #require(vfs.first)
        let mine = try Self.guestOffsets(root, index)
        try Self.writeAsGuest(root, mine)

        let crashed = try TestSupport.vgpuctl(
            ["--root", root.path, "vf", "clear", vf],
            environment: ["VGPUCTL_TEST_CRASH_BEFORE_SCRUB": "1"])
        #expect(crashed.status == 86, "\(iface): the crash switch did not fire: \(crashed.status) \(crashed.stderr)")
        #expect(
            try Self.read(root, mine) == Array(repeating: Self.pattern, count: 3),
            "\(iface): the crash came before the scrub, so the data is still there")
        #expect(try SimVGPUDriver(root: root).pendingScrubs(pf: Self.pf).map(\.vf) == [index])

        let assign = try VF.run(root, ["vf", "assign", vf, "--type", "H100XM-20C"])
        #expect(assign.status == 1, "\(iface): a VF with a pending scrub took a type: \(assign.stdout)")
        #expect(
            assign.stderr.contains("has not been scrubbed") && assign.stderr.contains("vgpuctl recover"),
            "\(iface): \(assign.stderr)")
        let named = try VF.run(root, ["vf", "create", Self.pf.description, "--type", "H100XM-10C", "--vf", vf])
        #expect(named.status == 1 && named.stderr.contains("has not been scrubbed"), "\(iface): \(named.stderr)")
        // Picking free VFs passes over it.
        let picked = try Self.create(root, count: 1)
        #expect(picked.first.map { $0.1 != index } ?? false, "\(iface): vf create picked the unscrubbed VF: \(picked)")

        let recover = try VF.run(root, ["recover"])
        #expect(recover.status == 0, "\(iface): \(recover.stderr)")
        #expect(recover.stdout.contains("finished an interrupted frame-buffer scrub"), "\(iface): \(recover.stdout)")
        #expect(try Self.read(root, mine) == Array(repeating: Self.zeros, count: 3))
        #expect(try SimVGPUDriver(root: root).pendingScrubs(pf: Self.pf).isEmpty)
        let after = try VF.run(root, ["vf", "assign", vf, "--type", "H100XM-10C"])
        #expect(after.status == 0, "\(iface): \(after.stderr)")
    }
}
