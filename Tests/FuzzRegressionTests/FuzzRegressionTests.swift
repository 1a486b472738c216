import Foundation
import FuzzTargets
import TestSupport
import Testing

/// Every seed and every past fuzz finding, through its target: none may trap.
@Suite struct FuzzRegressionTests {
    static let fuzzDir = TestSupport.repositoryDirectory + "/Tests/Fuzz"

    static func inputs(_ sub: String) -> [(target: String, file: String)] {
        let base = fuzzDir + "/" + sub
        let fm = FileManager.default
        return ((try? fm.contentsOfDirectory(atPath: base)) ?? []).sorted().flatMap { t in
            ((try? fm.contentsOfDirectory(atPath: base + "/" + t)) ?? []).sorted().map {
                (t, base + "/" + t + "/" + $0)
            }
        }
    }

    @Test func everyTargetHasASeedCorpus() {
        let seeded = Set(Self.inputs("corpus").map(\.target))
        #expect(seeded == Set(FuzzTargets.all.keys), "targets without seeds or seeds without targets")
    }

    @Test func seedsAndRegressionsRunClean() throws {
        let all = Self.inputs("corpus") + Self.inputs("regressions")
        #expect(all.count >= FuzzTargets.all.count)
        for (t, f) in all {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: f)))
            FuzzTargets.run(t, bytes)  // a trap here fails the whole test run, naming the input below
            // Truncations of each seed too: parsers must stop cleanly at any length.
            for cut in stride(from: 0, to: min(bytes.count, 600), by: 37) {
                FuzzTargets.run(t, Array(bytes.prefix(cut)))
            }
        }
    }
}
