import Foundation
import HostKit
import HostSim
import Hypervisor
import TestSupport
import Testing

/// EGM retired pages as the host shows them: the simulated host's data and `vgpuctl egm list`
/// (the RFC ioctl itself: NVGraceEGMTests).
@Suite struct EGMTests {
    @Test func simulatedHostAnswersFromTheModel() throws {
        let root = try TestSupport.simHost("gh200x4")
        let sim = SimulatedEGM(root: root)
        #expect(try sim.retiredPages(pxm: 4) == [])
        #expect(try sim.retiredPages(pxm: 5).map(\.offset) == [0x1a2b_0000, 0x3c4d_0000])
        #expect(throws: VGPUError.self) { try sim.retiredPages(pxm: 9) }
    }

    @Test func egmListShowsRegionsSizesGPUsAndRetiredPages() throws {
        let root = try TestSupport.simHost("gh200x4")
        let before = TestSupport.fingerprint(root.path)
        let t = try HV.vg(root, ["egm", "list"])
        #expect(t.status == 0, "\(t.stderr)")
        let rows = HV.lines(t.stdout)
        #expect(rows.count == 5, "\(t.stdout)")
        #expect(
            rows[2].contains("egm5") && rows[2].contains("400 GiB") && rows[2].contains("0019:01:00.0")
                && rows[2].contains("2: 0x1a2b0000, 0x3c4d0000"), "\(rows[2])")
        let j = try HV.vg(root, ["egm", "list", "--json"])
        let obj = try JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as? [String: Any]
        let regions = obj?["regions"] as? [[String: Any]] ?? []
        #expect(regions.map { $0["pxm"] as? Int } == [4, 5, 6, 7])
        #expect(regions[1]["size"] as? Int == 0x64_0000_0000)
        #expect(regions[1]["gpus"] as? [String] == ["0019:01:00.0"])
        #expect(regions[1]["retiredPageCount"] as? Int == 2)
        #expect(
            (regions[1]["retiredPages"] as? [[String: Any]])?.map { $0["offset"] as? Int } == [
                0x1a2b_0000, 0x3c4d_0000,
            ])
        #expect(regions[0]["retiredPageCount"] as? Int == 0)
        #expect(TestSupport.fingerprint(root.path) == before)
    }

    @Test func egmListDoesNotOpenARegionAVMHolds() throws {
        let root = try TestSupport.simHost("gh200x4")
        try HV.holdOpen(root, pid: 777, comm: "qemu-system-aar", file: "/dev/egm5")
        let j = try HV.vg(root, ["egm", "list", "--json"])
        let regions =
            (try JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as? [String: Any])?["regions"]
            as? [[String: Any]] ?? []
        #expect(regions[1]["retiredPageCount"] is NSNull)
        #expect((regions[1]["retiredPagesError"] as? String)?.contains("pid 777") == true)
        #expect((regions[1]["heldBy"] as? [[String: Any]])?.first?["pid"] as? Int == 777)
        let skip = try HV.vg(root, ["egm", "list", "--no-retired-pages"])
        #expect(skip.status == 0 && skip.stdout.contains("not read"), "\(skip.stdout)")
        let none = try HV.vg(try TestSupport.simHost("h100x8"), ["egm", "list"])
        #expect(none.status == 0 && none.stdout.contains("no EGM regions"), "\(none.stdout)")
    }
}
