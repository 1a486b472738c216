import Foundation
import GSPMessaging
import HostKit
import TestSupport
import Testing

/// `vgpuctl gsp decode`: the JSON shape, pending messages (wrapping), and truncated or corrupt
/// files (exit 2, naming the offset and the problem).
@Suite struct DecodeTests {
    /// A shared file with the boot's two commands queued and no firmware yet.
    func preparedFile() throws -> String {
        let root = try h100Host()
        let pf = try #require(PCIAddress(h100PF))
        let cfg = try PFConfig.read(root: root, address: pf)
        let plan = try VGPUBootPlan.make(
            pf: pf, config: cfg.config, sriovOffset: cfg.sriovOffset, mode: .auto, frameBufferBytes: 80 << 30)
        let m = try tempMapping()
        _ = try VGPUBoot.prepare(mapping: m, plan: plan, receiveTimeout: .seconds(1))
        return m.path
    }

    func decodeJSON(_ path: String) throws -> [String: Any] {
        let r = try TestSupport.vgpuctl(["gsp", "decode", path, "--json"])
        try #require(r.status == 0, "stderr: \(r.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    }

    @Test func pendingBootCommandsInTheExactJSONShape() throws {
        let json = try decodeJSON(try preparedFile())
        #expect(Set(json.keys) == ["cmdQueue", "msgQueue"])
        let cmd = try #require(json["cmdQueue"] as? [String: Any])
        #expect(Set(cmd.keys) == ["writePtr", "readPtr", "messages"])
        #expect(cmd["writePtr"] as? Int == 2 && cmd["readPtr"] as? Int == 0)
        let messages = try #require(cmd["messages"] as? [[String: Any]])
        #expect(messages.count == 2)
        for m in messages {
            #expect(
                Set(m.keys) == [
                    "seqNum", "elemCount", "function", "functionName", "length", "rpcResult", "checksumValid",
                ])
            #expect(m["checksumValid"] as? Bool == true)
            #expect(m["rpcResult"] as? Int == 0xFFFF_FFFF)
        }
        #expect(
            messages[0]["functionName"] as? String == "GSP_SET_SYSTEM_INFO" && messages[0]["function"] as? Int == 72)
        #expect(messages[0]["length"] as? Int == 0x20 + 0x3A0 && messages[0]["seqNum"] as? Int == 0)
        #expect(messages[1]["functionName"] as? String == "SET_REGISTRY" && messages[1]["seqNum"] as? Int == 1)
        let msg = try #require(json["msgQueue"] as? [String: Any])
        #expect(msg["writePtr"] as? Int == 0 && (msg["messages"] as? [Any])?.isEmpty == true)
    }

    @Test func messagesThatWrapAndABadChecksum() throws {
        let (cpu, _, m) = try endpointPair()
        m.u32(GspMemLayout.cpuQueueOffset + GspMemLayout.writePtrOffset).pointee = 61
        m.u32(GspMemLayout.gspQueueOffset + GspMemLayout.rxHeaderOffset).pointee = 61
        try cpu.send(
            // pages 61, 62, 0
            function: .nop, payload: [UInt8](repeating: 7, count: 0x2000), sequence: 0, until: .now + .seconds(1))
        cpu.sendFault = { _ in (corruptChecksum: true, skipSequence: false) }
        // page 1
        try cpu.send(function: .free, payload: [UInt8](repeating: 0, count: 16), sequence: 1, until: .now + .seconds(1))
        let json = try decodeJSON(m.path)
        let cmd = try #require(json["cmdQueue"] as? [String: Any])
        #expect(cmd["readPtr"] as? Int == 61 && cmd["writePtr"] as? Int == 2)
        let messages = try #require(cmd["messages"] as? [[String: Any]])
        #expect(messages.map { $0["functionName"] as? String } == ["NOP", "FREE"])
        #expect(messages.map { $0["elemCount"] as? Int } == [3, 1])
        #expect(messages.map { $0["checksumValid"] as? Bool } == [true, false])
        let text = try TestSupport.vgpuctl(["gsp", "decode", m.path])
        #expect(text.status == 0 && text.stdout.contains("BAD") && text.stdout.contains("NOP (0)"))
    }

    func expectInvalid(_ path: String, mentions: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let r = try TestSupport.vgpuctl(["gsp", "decode", path])
        #expect(r.status == 2, "exit \(r.status): \(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.split(separator: "\n").count == 1, sourceLocation: sourceLocation)
        #expect(r.stdout.isEmpty, sourceLocation: sourceLocation)
        for w in mentions {
            #expect(r.stderr.contains(w), "stderr lacks '\(w)': \(r.stderr)", sourceLocation: sourceLocation)
        }
    }

    func mutated(_ path: String, _ change: (inout [UInt8]) -> Void) throws -> String {
        var b = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        change(&b)
        let out = TestSupport.tempDir("gsp-bad") + "/dump"
        try Data(b).write(to: URL(fileURLWithPath: out))
        return out
    }

    @Test func truncatedFileNamesWhereItEnds() throws {
        let good = try preparedFile()
        try expectInvalid(
            try mutated(good) { $0.removeSubrange(0x2000...) },
            mentions: ["truncated", "0x2000", "page 0 of the command queue ring", "0x81000"])
        try expectInvalid(
            try mutated(good) { $0.removeSubrange(0x41010...) },
            mentions: ["0x41010", "status queue tx header"])
        try expectInvalid(try mutated(good) { $0 = [] }, mentions: ["0x0", "PTE page"])
    }

    /// GSPMessaging's own error type: `--debug` names the code `gsp.badDump`; the message and
    /// exit status are the plain run's.
    @Test func aTruncatedDumpCarriesTheGSPCode() throws {
        let bad = try mutated(try preparedFile()) { $0.removeSubrange(0x2000...) }
        let plain = try TestSupport.vgpuctl(["gsp", "decode", bad])
        let debug = try TestSupport.vgpuctl(["gsp", "decode", bad, "--debug"])
        #expect(plain.status == 2 && debug.status == 2, "\(debug.stderr)")
        let message = plain.stderr.dropFirst("vgpuctl: error: ".count).trimmingCharacters(in: .newlines)
        #expect(debug.stderr.contains("vgpuctl: debug: gsp.badDump (exit 2): \(message)"), "\(debug.stderr)")
    }

    @Test func corruptHeadersNameTheOffset() throws {
        let good = try preparedFile()
        // The first pending element's RPC signature (ring page 0 at 0x2000; RPC header at +0x30).
        try expectInvalid(
            try mutated(good) { $0.put32(0x2034, 0x1234_5678) },
            mentions: ["offset 0x2030", "signature is 0x12345678", "VRPC"])
        // msgSize of the command queue header.
        try expectInvalid(
            try mutated(good) { $0.put32(0x1008, 0x800) },
            mentions: ["offset 0x1008", "msgSize is 0x800", "expected 0x1000"])
        // A write pointer beyond the ring.
        try expectInvalid(try mutated(good) { $0.put32(0x1010, 0x40) }, mentions: ["offset 0x1010", "writePtr"])
        // elemCount that disagrees with the RPC length.
        try expectInvalid(try mutated(good) { $0.put32(0x2028, 2) }, mentions: ["offset 0x2028", "elemCount is 2"])
        // An element that runs past the write pointer.
        try expectInvalid(
            try mutated(good) {
                $0.put32(0x2038, 0x3000)
                $0.put32(0x2028, 4)
            }, mentions: ["offset 0x2028", "only 2 are pending"])
    }

    @Test func aBadChecksumIsReportedNotRejected() throws {
        let good = try preparedFile()
        let json = try decodeJSON(try mutated(good) { $0[0x2000 + 0x60] ^= 0xFF })
        let messages = try #require((json["cmdQueue"] as? [String: Any])?["messages"] as? [[String: Any]])
        #expect(messages.map { $0["checksumValid"] as? Bool } == [false, true])
    }

    @Test func missingFileIsInvalidInput() throws {
        try expectInvalid("/nonexistent/gspmem", mentions: ["/nonexistent/gspmem", "does not exist"])
    }
}
