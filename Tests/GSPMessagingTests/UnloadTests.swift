import Foundation
import GSPMessaging
import HostKit
import TestSupport
import Testing

/// The unload path (mainline nova-core): `UNLOADING_GUEST_DRIVER` (47), then the Booter
/// Unloader and FWSEC-SB; `gsp stop` takes it.
@Suite(.serialized) struct UnloadTests {
    @Test func payloadMatchesThePublishedLayout() throws {
        // rpc_unloading_guest_driver_v1F_07: two NvBool, 2 bytes padding, NvU32 newLevel.
        #expect(UnloadingGuestDriver().encoded == annotatedHex("00 00 0000 00000000   // unload: all zero"))
        let suspend = annotatedHex(
            """
            00: 01        // bInPMTransition
            01: 00        // bGc6Entering
            02: 00 00     // padding
            04: 03 00 00 00   // newLevel NV2080_CTRL_GPU_SET_POWER_STATE_GPU_LEVEL_3
            """)
        #expect(UnloadingGuestDriver(suspend: true).encoded == suspend)
        #expect(try UnloadingGuestDriver(decoding: suspend) == UnloadingGuestDriver(suspend: true))
        #expect(RPCFunction.unloadingGuestDriver.name == "UNLOADING_GUEST_DRIVER")
    }

    @Test func stopUnloadsTheFirmware() throws {
        let root = try h100Host()
        defer { stopStub(root) }
        try #require(try TestSupport.vgpuctl(["--root", root.path, "gsp", "boot", h100PF]).status == 0)
        let pf = try #require(PCIAddress(h100PF))
        let report = SimulatedGSP(root: root, pf: pf).stubReport
        let r = try TestSupport.vgpuctl(["--root", root.path, "gsp", "stop", h100PF, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let out = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] ?? [:]
        #expect(out["stopped"] as? Bool == true && out["unloaded"] as? Bool == true, "\(r.stdout)")
        let log = try String(contentsOfFile: report, encoding: .utf8)
        #expect(log.contains("UNLOADING_GUEST_DRIVER (bInPMTransition 0, newLevel 0): unloading"), "\(log)")
        #expect(log.contains("Booter Unloader and FWSEC-SB"), "\(log)")
        #expect(log.contains("\"firmwareState\" : \"exited\""), "the firmware did not go by itself: \(log)")
        #expect(SimulatedGSP.all(root: root).isEmpty)
    }
}
