import Foundation
import HostKit
import TestSupport
import Testing
import VirtualFunctions

/// VirtualFunctions' own error type: its code reaches `--debug` through the CLI, with the error
/// it explains underneath, and the operator's message and exit status are unchanged.
@Suite struct VirtualFunctionsErrorTests {
    /// A firmware that answers short: the control channel's error is kept under the
    /// module's `controlChannel` code, and `--debug` shows both.
    @Test func aControlChannelFailureCarriesItsCodeAndTheChannelsErrorUnderneath() throws {
        let root = try VF.host("h100x8", .upstream)
        let made = try VF.run(root, ["vf", "create", VF.h100.description, "--type", "H100XM-10C", "--count", "1"])
        try #require(made.status == 0, "\(made.stderr)")
        let fault: [String: String?] = ["VGPUCTL_STUB_FWCTL_FAULT": "short"]
        let args = ["vf", "assign", "0000:18:00.5", "--type", "H100XM-10C"]
        let plain = try VF.run(root, args, environment: fault)
        let debug = try VF.run(root, args + ["--debug"], environment: fault)
        #expect(plain.status == 1 && debug.status == 1, "\(plain.stderr)")
        #expect(
            plain.stderr.hasPrefix("vgpuctl: error: the control channel of 0000:18:00.0 (gsp-stub (pid ")
                && plain.stderr.hasSuffix(
                    "): bad reply to QUERY_ASSIGNED_VF_VGPU_TYPE: the reply is 4 bytes, shorter than the 8 it needs\n"),
            "\(plain.stderr)")
        let chain = debug.stderr.split(separator: "\n").map(String.init).filter { $0.hasPrefix("vgpuctl: debug: ") }
        #expect(chain.count == 2, "\(debug.stderr)")
        #expect(
            chain.first?.hasPrefix(
                "vgpuctl: debug: virtualfunctions.controlChannel (exit 1): the control channel of 0000:18:00.0")
                == true, "\(chain)")
        #expect(
            chain.last
                == "vgpuctl: debug:   ControlChannelError: bad reply to QUERY_ASSIGNED_VF_VGPU_TYPE: the reply is 4 bytes, shorter than the 8 it needs",
            "\(chain)")
    }

    @Test func aVFOfAnotherPFIsNotAVFOfThisOne() throws {
        let root = try VF.host("h100x8", .vendor)
        try VF.enable(root, VF.h100, autoprobe: true)
        try VF.enable(root, VF.otherH100, autoprobe: true)
        let b = try VF.typed(root)
        let e = #expect(throws: VirtualFunctionsError.self) {
            try b.assign(type: "H100XM-10C", vf: #require(PCIAddress("0000:19:00.4")))
        }
        #expect(e?.code == .notAVF && e?.status == .invalidInput, "\(String(describing: e))")
        #expect(e?.message == "0000:19:00.4 is a VF of 0000:19:00.0, not of 0000:18:00.0")
    }
}
