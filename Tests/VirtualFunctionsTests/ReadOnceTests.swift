import Foundation
import GPUModels
import HostKit
import HostSim
import TestSupport
import Testing
import VirtualFunctions

/// What a GPU's view reads once (issue 20) must say what reading each VF on its own says.
@Suite(.serialized) struct ReadOnceTests {
    @Test func everyVFsTypeReadTogetherIsItsTypeReadAlone() throws {
        let root = try VF.host("h100x8", .vendor)
        try VF.enable(root, VF.h100, autoprobe: true)
        let b = try VF.typed(root)
        let vfs = try #require(SysfsReader(root: root).device(VF.h100)?.sriov?.vfs)
        for (i, t) in [(0, "H100XM-10C"), (1, "H100XM-10C"), (5, "H100XM-20C")] {
            try b.assign(type: t, vf: vfs[i])
        }
        let refs = vfs.enumerated().map { VFRef(pf: VF.h100, index: $0.offset, address: $0.element) }
        let together = try b.interface.currentAll(refs)
        for r in refs { #expect(together[r.index] == (try b.interface.current(r)), "\(r)") }
        #expect(together.mapValues(\.typeName) == [0: "H100XM-10C", 1: "H100XM-10C", 5: "H100XM-20C"])
    }

    @Test func aBookSavedByAnotherStoreIsWhatTheNextLoadSees() throws {
        let root = try VF.host("h100x8", .vendor)
        try VF.enable(root, VF.h100, autoprobe: true)
        let b = try VF.typed(root)
        let vfs = try #require(SysfsReader(root: root).device(VF.h100)?.sriov?.vfs)
        try b.assign(type: "H100XM-10C", vf: vfs[0])
        // Loaded (and kept) here, then saved by the backend's own store.
        let store = VGPUBookStore(root: root)
        #expect(try store.load().pfs[VF.h100.description]?.entries.map { $0.vf } == [0])
        try b.assign(type: "H100XM-10C", vf: vfs[1])
        #expect(try store.load().pfs[VF.h100.description]?.entries.map { $0.vf } == [0, 1])
    }
}
