import Foundation
import TestSupport
import Testing

/// One environment, built at the edge: only the executables' edges (the CLI commands, vgpuctl's
/// main, the simulator, gsp-stub's ``StubEnvironment``) ask whether a host is simulated or
/// read environment variables; and no library turns an errno into `strerror` text.
@Suite struct EnvironmentEdgeTests {
    static let scanned = ["Sources", "staging", "firmware-stubs"]
    static let edges = [
        "Sources/VGPUCtlCommands/", "Sources/vgpuctl/", "firmware-stubs/HostSim/",
        "firmware-stubs/gsp-stub/StubEnvironment.swift",
    ]

    /// `path:line` of every Swift line under the scanned folders that contains one of `needles`.
    static func hits(_ needles: [String]) throws -> [String] {
        let top = TestSupport.repositoryDirectory
        var out: [String] = []
        for dir in scanned {
            let base = top + "/" + dir
            guard let walk = FileManager.default.enumerator(atPath: base) else { continue }
            for case let file as String in walk where file.hasSuffix(".swift") {
                let relative = dir + "/" + file
                let text = try String(contentsOfFile: top + "/" + relative, encoding: .utf8)
                for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
                where needles.contains(where: { line.contains($0) }) {
                    out.append("\(relative):\(n + 1)")
                }
            }
        }
        return out.sorted()
    }

    @Test func onlyTheEdgesReadTheEnvironmentOrAskWhetherTheHostIsSimulated() throws {
        let all = try Self.hits(["isSimulated", "ProcessInfo.processInfo.environment", "getenv("])
        #expect(!all.isEmpty, "the scan found nothing at all; is the repository at \(TestSupport.repositoryDirectory)?")
        let outside = all.filter { hit in !Self.edges.contains { hit.hasPrefix($0) } }
        #expect(outside == [], "libraries must receive the environment's parts from the CLI edge")
    }

    @Test func noErrnoIsReplacedByItsText() throws {
        #expect(try Self.hits(["strerror("]) == [])
    }
}
