import Foundation
import GPUModels
import HostKit
import HostSim
import SimGPU
import TestSupport
import Testing
import VGPUTypes
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

    /// The planner asks a backend only for the names of its types: they are the names `types`
    /// lists, in its order, on every interface, with and without VFs and with a VF typed.
    @Test(arguments: SimVGPUInterface.allCases)
    func theTypeNamesAreTheNamesTypesLists(_ iface: SimVGPUInterface) throws {
        let root = try VF.host("h100x8", iface)
        let before = try VF.backend(root)
        #expect(try before.typeNames(pf: VF.h100) == before.types(pf: VF.h100).map(\.name))
        try VF.enable(root, VF.h100, autoprobe: iface == .vendor || iface == .mdev)
        let b = try VF.backend(root)
        let vfs = try #require(SysfsReader(root: root).device(VF.h100)?.sriov?.vfs)
        if b.kind != .generic { try b.assign(type: "H100XM-10C", vf: vfs[0]) }
        let names = try b.typeNames(pf: VF.h100)
        #expect(names == (try b.types(pf: VF.h100)).map(\.name))
        #expect(names.isEmpty == (b.kind == .generic), "\(b.kind): \(names)")
        if b.kind != .generic {
            #expect(throws: VirtualFunctionsError.self) { try b.typeNames(pf: VF.otherH100) }
        }
    }

    /// The interface read from a PF already read is the one read by its address, on every
    /// interface, before and after its VFs exist; a VF or a function without SR-IOV is refused
    /// the same way.
    @Test(arguments: SimVGPUInterface.allCases)
    func theInterfaceOfADeviceReadIsTheInterfaceByAddress(_ iface: SimVGPUInterface) throws {
        let root = try VF.host("h100x8", iface)
        let sysfs = SysfsReader(root: root)
        func same(_ d: PCIDevice) {
            let byAddress = Result(catching: { () throws(VirtualFunctionsError) in
                try VGPUBackends.interfaceKind(root: root, pf: d.address)
            })
            let byDevice = Result(catching: { () throws(VirtualFunctionsError) in
                try VGPUBackends.interfaceKind(root: root, device: d)
            })
            switch (byAddress, byDevice) {
            case (.success(let a), .success(let b)): #expect(a == b, "\(d.address)")
            case (.failure(let a), .failure(let b)): #expect(a.message == b.message, "\(d.address)")
            default: Issue.record("\(d.address): \(byAddress) by address, \(byDevice) by device")
            }
        }
        for d in sysfs.allDevices() { same(d) }
        try VF.enable(root, VF.h100, autoprobe: iface == .vendor || iface == .mdev)
        for d in sysfs.allDevices() { same(d) }
        let kind = try VGPUBackends.interfaceKind(root: root, pf: VF.h100)
        #expect(kind == [.vendor: .vendorSysfs, .mdev: .mdev, .upstream: .upstream, .none: .generic][iface])
    }
}
