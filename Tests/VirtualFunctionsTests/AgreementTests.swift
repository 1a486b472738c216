import Foundation
import HostKit
import HostSim
import PropertyBased
import SimGPU
import TestSupport
import Testing
import VGPUTypes
import VirtualFunctions

/// Two books must agree: vgpuctl's book plans, the driver (the simulated firmware or the
/// simulated NVIDIA driver) enforces. Long random sequences of create and clear, and after
/// every step both views compared exactly: what each VF carries (type, placement, channels)
/// and what each free VF could take.
///
/// The upstream firmware here is gsp-stub, booted with `vgpuctl gsp boot` and reached over the
/// stage-2 control channel (fwctl requests in GSP_RM_CONTROLs over the GSP queues): the
/// backend assigns through it, and the firmware's view is read through it too
/// (QUERY_ASSIGNED_VF_VGPU_TYPE, QUERY_CREATABLE_VGPU_TYPES).
@Suite(.serialized) struct AgreementTests {
    /// One step: create type `type % n` on the lowest free VF, or clear the `vf % used`-th typed VF.
    struct Step: Sendable, CustomStringConvertible {
        var clear: Bool
        var type: Int
        var vf: Int
        var description: String { clear ? "clear #\(vf)" : "create type #\(type)" }
    }

    static let steps = zip(Gen.bool(0.35), Gen.int(in: 0...99), Gen.int(in: 0...99))
        .map { t in Step(clear: t.0, type: t.1, vf: t.2) }.array(of: 20...80)

    /// The firmware's view of VF `i` over the control channel: (type name, placement, channel offset).
    static func firmwareView(_ ch: any VGPUControlChannel, _ c: VGPUCatalog, vfs: Int) throws -> [Int: [String]] {
        var out: [Int: [String]] = [:]
        for i in 0..<vfs {
            if let a = try ch.queryAssignedVF(i) {
                out[i] = [c.type(id: a.typeID)?.name ?? "?", String(a.placement), String(a.channelOffset)]
            }
        }
        return out
    }

    static func bookView(_ book: GPUBook) -> [Int: [String]] {
        Dictionary(
            uniqueKeysWithValues: book.entries.map {
                ($0.vf, [$0.type, String($0.placement), String($0.channels.offset)])
            })
    }

    /// Runs `steps` through the backend; after each, the books are compared.
    static func drive(_ root: HostRoot, _ iface: SimVGPUInterface, _ steps: [Step], stub: StubChannel? = nil) throws {
        let b = try stub?.backend() ?? VF.typed(root)
        let c = b.catalog
        let vfs = try #require(SysfsReader(root: root).device(VF.h100)?.sriov?.vfs)
        // Time-sliced and MIG-backed types, so that modes and placements are exercised.
        let pool = c.types.filter {
            ["H100XM-4C", "H100XM-10C", "H100XM-20C", "H100XM-40C", "H100XM-1-10C", "H100XM-2-20C", "H100XM-3-40C"]
                .contains($0.name)
        }
        for s in steps {
            let view = try b.view()
            if s.clear {
                let used = view.book.entries
                if !used.isEmpty { try b.clear(vf: vfs[used[s.vf % used.count].vf]) }
            } else if let vf = view.book.freeVFs.first {
                let t = pool[s.type % pool.count]
                let fits = view.book.refusal(for: t) == nil
                do {
                    try b.assign(type: t.name, vf: vfs[vf])
                    #expect(fits, "\(iface): the book said no to \(t.name) but the driver took it")
                } catch {
                    #expect(!fits, "\(iface): the book had room for \(t.name) on VF \(vf) but: \(error.message)")
                }
            }
            try compare(root, iface, b, vfs: vfs, after: s, channel: stub?.channel)
        }
    }

    static func compare(
        _ root: HostRoot, _ iface: SimVGPUInterface, _ b: TypedVFBackend, vfs: [PCIAddress], after s: Step,
        channel: (any VGPUControlChannel)?
    ) throws {
        let book = try b.view().book
        #expect(book.violations().isEmpty, "\(iface) after \(s): \(book.violations())")
        let freeVF = book.freeVFs.first
        let bookCreatable = Set(
            b.catalog.types.filter { t in freeVF.map { (try? book.fit(t, vf: $0)) != nil } ?? false }.map(\.name))
        switch iface {
        case .upstream:
            let fw = try #require(channel, "the upstream comparison needs the control channel")
            #expect(
                try firmwareView(fw, b.catalog, vfs: vfs.count) == bookView(book),
                "after \(s): QUERY_ASSIGNED_VF and the book differ")
            // The firmware's engine report (its own rules) gives every VF what the book promises:
            // the same channel range, as many copy engines, a BAR1 window inside the VF's BAR1.
            let engines = try b.engineReport()
            #expect(engines.problems.isEmpty, "after \(s): \(engines.problems.map(\.message))")
            #expect(Set(engines.reports.keys) == Set(book.entries.map(\.vf)), "after \(s): VFs reported")
            for e in book.entries {
                let r = engines.reports[e.vf]
                #expect(
                    r?.channels == e.channels && r?.copyEngines?.count == e.copyEngines.count
                        && r?.bar1 != nil && r?.bar1?.size == engines.vfBAR1[e.vf]?.size,
                    "after \(s): VF \(e.vf): firmware \(String(describing: r)), book \(e)")
            }
            // Until the first assignment teaches it the catalog (ADD_TYPE), the firmware knows no type.
            if let f = freeVF, try !fw.querySupported().isEmpty {
                let ids = try fw.queryCreatable(vf: f)
                #expect(
                    Set(ids.compactMap { b.catalog.type(id: $0)?.name }) == bookCreatable,
                    "after \(s): QUERY_CREATABLE and the book differ")
            }
        case .vendor:
            let s2 = SysfsReader(root: root)
            for (i, vf) in vfs.enumerated() {
                let cur = VendorSysfsFormat.currentType(s2.text(HostRoot.deviceFile(vf, "nvidia/current_vgpu_type")))
                let placement = VendorSysfsFormat.optionalNumber(
                    s2.text(HostRoot.deviceFile(vf, "nvidia/placement_id")))
                let e = book.entry(vf: i)
                #expect(
                    cur.flatMap { b.catalog.type(id: $0)?.name } == e?.type && placement == e?.placement,
                    "after \(s): VF \(i) differs")
            }
            if let f = freeVF {
                let list =
                    VendorSysfsFormat.creatable(
                        s2.text(HostRoot.deviceFile(vfs[f], "nvidia/creatable_vgpu_types")) ?? "") ?? []
                #expect(Set(list.map(\.name)) == bookCreatable, "after \(s): creatable_vgpu_types and the book differ")
            }
        default:
            break
        }
    }

    @Test func upstreamFirmwareAndBookAgreeAfterEveryStep() async throws {
        await propertyCheck(count: 12, input: Self.steps) { steps in
            let root = try VF.host("h100x8", .upstream)
            try VF.enable(root, VF.h100, autoprobe: false)
            let stub = try StubChannel(root, VF.h100)
            defer { stub.close() }
            try Self.drive(root, .upstream, steps, stub: stub)
        }
    }

    @Test func vendorDriverAndBookAgreeAfterEveryStep() async throws {
        await propertyCheck(count: 4, input: Self.steps) { steps in
            let root = try VF.host("h100x8", .vendor)
            try VF.enable(root, VF.h100, autoprobe: true)
            try Self.drive(root, .vendor, steps)
        }
    }

    @Test func upstreamTeachesTheFirmwareTheCatalogOnFirstUse() throws {
        let root = try VF.host("h100x8", .upstream)
        try VF.enable(root, VF.h100, autoprobe: false)
        let stub = try StubChannel(root, VF.h100)
        defer { stub.close() }
        let fw = stub.channel
        #expect(try fw.querySupported().isEmpty, "the firmware starts with no type")
        let b = try stub.backend()
        _ = try b.types(pf: VF.h100)
        #expect(try fw.querySupported().isEmpty, "reading changes nothing")
        try b.assign(type: "H100XM-20C", vf: PCIAddress("0000:18:00.4")!)
        #expect(try fw.querySupported() == b.catalog.types.map(\.id).sorted())
        // Every type made the round trip ADD_VGPU_TYPE -> the stub's firmware -> QUERY_VGPU_PROPERTIES intact.
        for t in b.catalog.types { #expect(try fw.queryProperties(t.id) == t, "\(t.name)") }
        #expect(b.kind == .upstream)
        #expect(try fw.queryAssignedVF(0)?.typeID == 1205)
    }

    @Test func detectionFromWhatTheHostHas() throws {
        for (iface, kind) in [
            (SimVGPUInterface.vendor, VGPUBackendKind.vendorSysfs), (.mdev, .mdev), (.upstream, .upstream),
            (.none, .generic),
        ] {
            let root = try VF.host("h100x8", iface)
            #expect(try VGPUBackends.interfaceKind(root: root, pf: VF.h100) == kind, "\(iface) before VFs")
            try VF.enable(root, VF.h100, autoprobe: iface == .vendor || iface == .mdev)
            #expect(try VGPUBackends.interfaceKind(root: root, pf: VF.h100) == kind, "\(iface) with VFs")
            #expect(try VF.backend(root).kind == kind)
            let provided = try VGPUBackends.provider(
                root: root, kernel: SimulatedKernel(root: root),
                channels: { (p: PCIAddress) throws(VirtualFunctionsError) -> (any VGPUControlChannel)? in
                    TestFirmwareChannel(firmware: SimVGPUFirmware(root: root, pf: p))
                })(try #require(SysfsReader(root: root).device(VF.h100)))
            #expect(provided?.kind == (kind == .generic ? nil : kind))
        }
        // The NIC of the mixed host is plain SR-IOV.
        let mixed = try TestSupport.simHost("mixed")
        #expect(try VGPUBackends.interfaceKind(root: mixed, pf: PCIAddress("0000:04:00.0")!) == .generic)
    }
}
