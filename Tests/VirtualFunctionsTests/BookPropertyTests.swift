import Foundation
import PropertyBased
import Testing
import VGPUTypes
import VirtualFunctions

/// Properties of the book, over random sequences of placements and releases on every built-in
/// catalog: no two VFs overlap in frame buffer or channels, totals are never exceeded, a release
/// restores capacity exactly, a refusal changes nothing, allocation is deterministic, and a
/// fresh GPU takes exactly NVIDIA's maximum instance count of each single type.
@Suite struct BookPropertyTests {
    static let catalogs: [VGPUCatalog] = (try? VGPUCatalogSet.builtIn().catalogs) ?? []

    /// One step: place type `type % types` on VF `vf % slots`, or release VF `vf % slots`.
    struct Step: Sendable, CustomStringConvertible {
        var release: Bool
        var type: Int
        var vf: Int
        var description: String { release ? "release \(vf)" : "place \(type) on \(vf)" }
    }

    static let steps = zip(Gen.bool(0.3), Gen.int(in: 0...63), Gen.int(in: 0...63))
        .map { t in Step(release: t.0, type: t.1, vf: t.2) }.array(of: 1...60)

    /// Applies `steps`, checking the invariants after each; returns the book.
    @discardableResult
    static func run(_ c: VGPUCatalog, _ steps: [Step]) -> GPUBook {
        var book = GPUBook(catalog: c)
        for s in steps {
            let vf = s.vf % book.vfSlots
            let before = book
            if s.release {
                let released = book.release(vf: vf)
                if let released {
                    // Releasing restores capacity exactly: placing it back at the same place works.
                    var again = book
                    #expect((try? again.place(c.type(named: released.type)!, vf: vf, at: released.placement)) != nil)
                }
            } else {
                let t = c.types[s.type % c.types.count]
                do {
                    let e = try book.place(t, vf: vf)
                    #expect(
                        e.type == t.name && e.framebuffer.count == t.framebufferMiB && e.channels.count == t.channels)
                    // Releasing it restores the book exactly.
                    var undo = book
                    undo.release(vf: vf)
                    #expect(undo == before, "release after place did not restore the book")
                } catch {
                    #expect(book == before, "a refusal changed the book: \(error.message)")
                    #expect(!error.message.isEmpty)
                }
            }
            let v = book.violations()
            #expect(v.isEmpty, "\(c.name) after \(s): \(v.joined(separator: "; "))")
        }
        return book
    }

    @Test func randomSequencesKeepEveryInvariant() async {
        for c in Self.catalogs {
            await propertyCheck(count: 60, input: Self.steps) { steps in
                Self.run(c, steps)
            }
        }
    }

    @Test func allocationIsDeterministic() async {
        await propertyCheck(count: 40, input: Gen.int(in: 0...(Self.catalogs.count - 1)), Self.steps) { ci, steps in
            let c = Self.catalogs[ci]
            #expect(Self.run(c, steps) == Self.run(c, steps))
        }
    }

    @Test func aFreshGPUTakesExactlyNVIDIAsMaximumOfEachType() throws {
        #expect(!Self.catalogs.isEmpty)
        for c in Self.catalogs {
            for t in c.types {
                var book = GPUBook(catalog: c)
                #expect(book.available(t) == t.maxInstances, "\(t.name)")
                for vf in 0..<t.maxInstances { _ = try book.place(t, vf: vf) }
                #expect(book.violations().isEmpty)
                let next = book.refusal(for: t)
                #expect(next != nil, "\(t.name): a \(t.maxInstances + 1)th instance fit")
            }
        }
    }

    @Test func releasingAnyInstanceMakesRoomForExactlyOne() async throws {
        let c = try VF.catalog("H100XM")
        await propertyCheck(count: 30, input: Gen.int(in: 0...(c.types.count - 1)), Gen.int(in: 0...31)) { ti, k in
            let t = c.types[ti]
            var book = GPUBook(catalog: c)
            for vf in 0..<t.maxInstances { _ = try? book.place(t, vf: vf) }
            let victim = k % t.maxInstances
            book.release(vf: victim)
            #expect(book.available(t) == 1, "\(t.name)")
        }
    }

    @Test func mixedRequestsAreAllOrNothing() async throws {
        let c = try VF.catalog("H100XM")
        let ts = c.types.filter { !$0.isMIG }
        await propertyCheck(count: 60, input: Gen.int(in: 0...(ts.count - 1)).array(of: 1...12)) { picks in
            var book = GPUBook(catalog: c)
            _ = try? book.place(ts[0], vf: 31)
            let before = book
            let requests = picks.enumerated().map { (type: ts[$0.element], vf: $0.offset) }
            do {
                let placed = try book.placeAll(requests)
                #expect(placed.count == requests.count)
                #expect(book.violations().isEmpty)
            } catch {
                #expect(book == before, "a refused mix changed the book")
            }
        }
    }

    @Test func refusalsExplainThemselvesWithNumbers() throws {
        let c = try VF.catalog("H100XM")
        func t(_ n: String) throws -> VGPUCatalog.VGPUType { try #require(c.type(named: n)) }
        var book = GPUBook(catalog: c)
        for vf in 0..<3 { try book.place(try t("H100XM-20C"), vf: vf) }
        try book.place(try t("H100XM-4C"), vf: 3)  // at unit 60: the last 20-unit placement is broken
        let r = try #require(book.refusal(for: try t("H100XM-20C")))
        #expect(r.kind == .framebuffer)
        #expect(
            r.message
                == "H100XM-20C needs 20320 MiB at a 20320-aligned placement (20 of the GPU's 80 units of 1016 MiB); free: 16256 MiB at 65024"
        )
        // MIG and time-sliced do not mix; the limit per type names NVIDIA's number.
        #expect(book.refusal(for: try t("H100XM-1-10C"))?.kind == .mode)
        var full = GPUBook(catalog: c)
        for vf in 0..<8 { try full.place(try t("H100XM-10C"), vf: vf) }
        #expect(
            full.refusal(for: try t("H100XM-10C"))?.message
                == "H100XM-10C: the GPU already holds 8 of at most 8 instances (NVIDIA's limit per GPU)")
        // A homogeneous GPU (A2) refuses a second size.
        let a2 = try VF.catalog("A2")
        var h = GPUBook(catalog: a2)
        try h.place(try #require(a2.type(named: "A2-4Q")), vf: 0)
        #expect(h.refusal(for: try #require(a2.type(named: "A2-8Q")))?.kind == .mode)
        #expect(h.refusal(for: try #require(a2.type(named: "A2-4C"))) == nil)
    }

    @Test func migInstancesGetExclusiveCopyEnginesAndComputeSlices() throws {
        let c = try VF.catalog("H100XM")
        var book = GPUBook(catalog: c)
        try book.place(try #require(c.type(named: "H100XM-4-40C")), vf: 0)
        let e = try book.place(try #require(c.type(named: "H100XM-3-40C")), vf: 1)
        #expect(book.entry(vf: 0)?.copyEngines == [0, 1, 2, 3] && e.copyEngines == [4, 5, 6])
        #expect(book.usage.computeSlicesUsed == 7)
        #expect(book.refusal(for: try #require(c.type(named: "H100XM-1-10C")))?.kind == .framebuffer)
    }
}
