import Foundation
import GSPMessaging
import HostKit
import TestSupport
import Testing

/// Every fault switch of the stub ends `gsp boot` with one clear line, exit 1, within the
/// deadline, and leaves no stub process behind.
@Suite struct FaultTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var fault: String
        var mentions: [String]
        var testDescription: String { fault }
    }

    static let cases: [Case] = [
        // The H100 boots through FSP: 1-2 UCODE_LIBOS_PRINT, 3 GSP_INIT_DONE, 4 the static info.
        Case(fault: "corrupt-checksum:3", mentions: ["GSP_INIT_DONE", "bad checksum", "seqNum 2"]),
        Case(fault: "corrupt-checksum:4", mentions: ["GET_GSP_STATIC_INFO", "bad checksum"]),
        Case(fault: "skip-sequence:2", mentions: ["sequence number 2, expected 1"]),
        Case(fault: "silent", mentions: ["timed out after 2 s", "GSP_INIT_DONE"]),
        Case(
            fault: "exit-after:2",
            mentions: ["gsp-stub (pid", "exited with status 3", "while waiting for GSP_INIT_DONE"]),
        Case(
            fault: "exit-after:3",
            mentions: ["exited with status 3", "while waiting for the reply to GET_GSP_STATIC_INFO"]),
        Case(
            fault: "rpc-error:GET_GSP_STATIC_INFO",
            mentions: ["GET_GSP_STATIC_INFO", "rpc_result 0x40 (NV_ERR_INVALID_STATE)"]),
        Case(
            fault: "rpc-error:GET_GSP_STATIC_INFO:NV_ERR_NOT_SUPPORTED",
            mentions: ["rpc_result 0x56 (NV_ERR_NOT_SUPPORTED)"]),
    ]

    @Test(arguments: cases)
    func faultGivesAClearErrorWithinTheDeadline(_ c: Case) throws {
        let root = try h100Host()
        defer { stopStub(root) }
        let (r, took) = try timedVgpuctl([
            "--root", root.path, "gsp", "boot", h100PF, "--timeout", "2", "--stub-fault", c.fault,
        ])
        #expect(r.status == 1, "exit \(r.status): \(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "expected one line: \(r.stderr)")
        #expect(r.stdout.isEmpty)
        for w in c.mentions { #expect(r.stderr.contains(w), "stderr lacks '\(w)': \(r.stderr)") }
        #expect(r.stderr.contains("vgpuctl gsp decode"), "should point at the kept queues: \(r.stderr)")
        // 2 s per wait is the deadline; the whole command ends soon after it.
        #expect(took < .seconds(8), "took \(took)")
        // No orphan: nothing runs with this host's path on its command line, and no stub is recorded.
        #expect(processes(mentioning: root.path).isEmpty, "left: \(processes(mentioning: root.path))")
        let status = try TestSupport.vgpuctl(["--root", root.path, "gsp", "status", "--json"])
        #expect(status.status == 0 && !status.stdout.contains(h100PF))
        // The queues are kept and decode.
        let decoded = try TestSupport.vgpuctl(["gsp", "decode", root.url("run/vgpuctl/gsp/\(h100PF)/gspmem")])
        #expect(decoded.status == 0, "decode: \(decoded.stderr)")
    }

    /// A bad checksum on the CPU sequencer request of a part that boots through the SEC2 booter
    /// (Ampere) is reported naming it.
    @Test func corruptSequencerRequestOnAnAmperePart() throws {
        let root = try TestSupport.simHost("mixed")
        defer { stopStub(root, "0000:03:00.0") }
        let r = try TestSupport.vgpuctl([
            "--root", root.path, "gsp", "boot", "0000:03:00.0", "--timeout", "2", "--stub-fault", "corrupt-checksum:3",
        ])
        #expect(r.status == 1, "exit \(r.status): \(r.stderr)")
        for w in ["GSP_RUN_CPU_SEQUENCER", "bad checksum", "seqNum 2"] {
            #expect(r.stderr.contains(w), "stderr lacks '\(w)': \(r.stderr)")
        }
        #expect(processes(mentioning: root.path).isEmpty)
    }

    @Test func unknownFaultIsRejectedByTheStub() throws {
        let root = try h100Host()
        defer { stopStub(root) }
        let r = try TestSupport.vgpuctl([
            "--root", root.path, "gsp", "boot", h100PF, "--timeout", "2", "--stub-fault", "bogus",
        ])
        #expect(r.status == 1)
        #expect(r.stderr.contains("exited with status 2"))
        #expect(processes(mentioning: root.path).isEmpty)
        let log = try String(contentsOfFile: root.url("run/vgpuctl/gsp/\(h100PF)/stub.log"), encoding: .utf8)
        #expect(log.contains("unknown fault 'bogus'"))
    }
}
