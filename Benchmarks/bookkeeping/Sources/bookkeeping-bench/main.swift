import Foundation
import VGPUTypes
import VirtualFunctions

// 10,000 GPUs spread over the built-in catalogs; 100,000 requests of time-sliced types picked
// by a fixed LCG (deterministic), each to the next GPU in turn and its lowest free VF; then every
// placed VF released. Reference: the same number of inserts and removals in a plain Swift
// dictionary, measured in the same run.
let gpus = 10_000
let requests = 100_000
let set = try VGPUCatalogSet.builtIn()
let catalogs = set.catalogs.filter { c in c.types.contains { $0.mig == nil } }
var books = (0..<gpus).map { GPUBook(catalog: catalogs[$0 % catalogs.count]) }
let typesPer = books.map { $0.catalog.types.filter { $0.mig == nil } }
/// A fixed linear congruential generator (deterministic request mix).
struct LCG {
    var seed: UInt64 = 0x2545_F491_4F6C_DD1D
    mutating func next() -> Int {
        seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Int(seed >> 33)
    }
}
var rng = LCG()

var placed: [(gpu: Int, vf: Int)] = []
placed.reserveCapacity(requests)
var refused = 0
let t0 = ContinuousClock.now
for r in 0..<requests {
    let g = r % gpus
    let types = typesPer[g]
    let t = types[rng.next() % types.count]
    guard let vf = books[g].freeVFs.first else {
        refused += 1
        continue
    }
    do {
        _ = try books[g].place(t, vf: vf)
        placed.append((g, vf))
    } catch { refused += 1 }
}
let placeTime = ContinuousClock.now - t0
let t1 = ContinuousClock.now
for p in placed { _ = books[p.gpu].release(vf: p.vf) }
let releaseTime = ContinuousClock.now - t1
precondition(books.allSatisfy { $0.entries.isEmpty }, "release did not restore every book")

// Reference: dictionary inserts and removals of the same count.
var dict: [Int: Int] = [:]
let r0 = ContinuousClock.now
for i in 0..<requests { dict[i &* 7919] = i }
let refInsert = ContinuousClock.now - r0
let r1 = ContinuousClock.now
for i in 0..<requests { dict[i &* 7919] = nil }
let refRemove = ContinuousClock.now - r1

func ms(_ d: Duration) -> Double { Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15 }
let out: [[String: Any]] = [
    [
        "figure":
            "bookkeeping: place \(requests) mixed requests on \(gpus) GPUs (\(placed.count) placed, \(refused) refused)",
        "value": ms(placeTime), "unit": "ms", "reference": "\(requests) dictionary inserts",
        "referenceValue": ms(refInsert),
        "ratio": ms(placeTime) / max(ms(refInsert), 0.001), "goal": "under 1 s", "met": ms(placeTime) < 1000,
    ],
    [
        "figure": "bookkeeping: release them", "value": ms(releaseTime), "unit": "ms",
        "reference": "\(requests) dictionary removals",
        "referenceValue": ms(refRemove), "ratio": ms(releaseTime) / max(ms(refRemove), 0.001), "goal": "under 1 s",
        "met": ms(releaseTime) < 1000,
    ],
]
print(String(decoding: try JSONSerialization.data(withJSONObject: out), as: UTF8.self))
