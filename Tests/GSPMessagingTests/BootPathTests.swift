import Foundation
import GSPMessaging
import HostKit
import TestSupport
import Testing

/// Hopper and Blackwell start GSP-RM through the FSP chain of trust, without the CPU
/// sequencer; Turing, Ampere and Ada through the SEC2 booter, whose GSP-RM asks the CPU to run
/// `GSP_RUN_CPU_SEQUENCER` (shared reference, gsp-messaging.md, 2026 corrections).
@Suite struct BootPathTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var host: String
        var pf: String
        var chip: String
        var fsp: Bool
        var testDescription: String { "\(chip) (\(host) \(pf))" }
    }

    static let cases = [
        Case(host: "h100x8", pf: "0000:18:00.0", chip: "Hopper", fsp: true),
        Case(host: "gb200x4", pf: "0008:01:00.0", chip: "Blackwell", fsp: true),
        Case(host: "mixed", pf: "0000:03:00.0", chip: "Ampere", fsp: false),
    ]

    struct StubReport: Decodable {
        var bootPath: String?
        var log: [String]
    }

    @Test(arguments: cases)
    func bootPathFollowsTheChip(_ c: Case) throws {
        let root = try TestSupport.simHost(c.host)
        defer { stopStub(root, c.pf) }
        let r = try TestSupport.vgpuctl(["--root", root.path, "gsp", "boot", c.pf, "--json"])
        try #require(r.status == 0, "\(c.host): \(r.stderr)")
        let report = try JSONDecoder().decode(VGPUBootReport.self, from: Data(r.stdout.utf8))
        let names = report.transcript.map(\.functionName)
        let expected = c.fsp ? "FSP chain of trust (no CPU sequencer)" : "SEC2 booter + CPU sequencer"
        #expect(report.bootPath == expected)
        #expect(names.contains("GSP_RUN_CPU_SEQUENCER") == !c.fsp, "\(names)")
        #expect(names.contains("GSP_INIT_DONE") && names.contains("GET_GSP_STATIC_INFO"))
        if !c.fsp {
            let seq = try #require(report.transcript.first { $0.functionName == "GSP_RUN_CPU_SEQUENCER" })
            #expect(seq.note?.contains("ran 9 sequencer commands") == true)
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: root.url("run/vgpuctl/gsp/\(c.pf)/stub.json")))
        let stub = try JSONDecoder().decode(StubReport.self, from: data)
        #expect(stub.bootPath == expected)
        #expect(stub.log.contains("\(c.chip): GSP-RM started through the \(expected)"), "\(stub.log)")
        let text = try TestSupport.vgpuctl(["--root", root.path, "gsp", "stop", c.pf])
        #expect(text.status == 0)
        let again = try TestSupport.vgpuctl(["--root", root.path, "gsp", "boot", c.pf])
        try #require(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("Boot path: \(expected)"), "\(again.stdout)")
    }
}
