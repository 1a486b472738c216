import ControlChannel
import Foundation
import GSPMessaging
import HostKit
import TestSupport
import Testing

/// The development firmware's wire format (r000_00) over the live queues: gsp-stub booted with
/// `vgpuctl gsp boot --firmware r000_00` answers every management command as a GMC API command
/// (MCTP/NVDM elements, `GMCAPI_HEADER`, ids 0x1000000N), and the rings afterwards hold those
/// elements, read ("SEEN") and decodable.
@Suite(.serialized) struct GMCStubRoundTripTests {
    /// The elements left in one ring of the shared file, decoded as an r000_00 ring dump.
    static func ring(_ root: HostRoot, writtenBy side: GSPSide) throws -> [GMCElement] {
        let file = root.url("run/vgpuctl/gsp/\(h100PF)/gspmem")
        let all = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
        let start = GspMemLayout.queueOffset(writtenBy: side) + GspMemLayout.entryOffset
        return try GMCQueueDump.decode(Array(all[start..<(start + GspMemLayout.ringSize)])).map(\.element)
    }

    @Test func everyCommandRoundTripsThroughTheR000Stub() throws {
        let root = try upstreamHost()
        try enableVFs(root)
        let boot = try vg(root, ["gsp", "boot", h100PF.description, "--firmware", "r000_00", "--json"])
        try #require(boot.status == 0, "gsp boot --firmware r000_00: \(boot.stderr)")
        defer { _ = try? vg(root, ["gsp", "stop", h100PF.description]) }
        let report = try JSONDecoder().decode(GMCBootReport.self, from: Data(boot.stdout.utf8))
        #expect(
            report.wireFormat == "r000_00" && report.vgpu && report.totalVFs == 32 && report.status.contains("NV_OK"))
        #expect(report.queueVersion == "1.0")

        let sim = SimulatedGSP(root: root, pf: h100PF)
        let gmc = try sim.connectGMC()
        let transport = GMCStubTransport(
            gmc: gmc, name: "gsp-stub (r000_00) for \(h100PF)", pci: SysfsReader(root: root).device(h100PF),
            vgpu: report.vgpu, totalVFs: report.totalVFs)
        let c = VGPUManagementClient(transport: transport)
        c.buildVersion = "r000_00"
        let vf = try StubRoundTripTests.vfs(root)
        try c.requireNovaCore()
        let info = try #require(NovaCoreInfo(decoding: try c.info().deviceData))
        #expect(info.deviceID == 0x2330 && info.vgpu && info.totalVFs == 32 && info.firmwareVersion == "r000_00")

        #expect(try c.querySupported() == [])
        for r in [Records.h100xm20C, Records.h100xm40C, Records.h100xm1g10C] { try c.addType(r) }
        #expect(try c.querySupported() == [1205, 1206, 1208])
        #expect(try c.queryProperties(1205) == Records.h100xm20C)
        #expect(try c.queryProperties(1208) == Records.h100xm1g10C)
        #expect(try c.queryCreatable() == [1205, 1206, 1208])
        #expect(try c.queryAssigned(vf: vf[0]) == nil)
        try c.assign(vf: vf[0], typeID: 1205)
        // The engine report travels over r000_00 too (vgpuctl's extension after the GMC API's
        // out params): 8 shared copy engines, the VF's 4 GiB BAR1 as sysfs shows it.
        let bar1 = SysfsReader(root: root).resources(vf[0])[1]
        #expect(bar1.size == 4 << 30, "\(bar1)")
        #expect(
            try c.queryAssigned(vf: vf[0])
                == AssignedVF(
                    typeID: 1205, placement: 0, channelOffset: 0, channels: 512, framebufferOffsetMiB: 0,
                    framebufferMiB: 20320, copyEngineMask: 0xFF, bar1Address: bar1.start, bar1Size: 4 << 30))
        #expect(try c.queryCreatable() == [1205, 1206], "MIG cannot join a time-sliced VF")
        try c.deassign(vf: vf[0])
        #expect(try c.queryAssigned(vf: vf[0]) == nil)
        // A refusal travels as the GMC response status (the GMC API carries no reason).
        do {
            try c.assign(vf: vf[1], typeID: 4242)
            Issue.record("an unknown type was assigned")
        } catch {
            guard case .refused(let command, let status, _) = error else {
                Issue.record("expected a refusal, got \(error)")
                return
            }
            #expect(command == "ASSIGN_VGPU_TYPE" && status == NVStatus.errObjectNotFound, "\(error)")
        }
        // The kernel's checks apply before anything reaches the queues.
        do {
            _ = try transport.rpc(scope: .configuration, request: [1, 2, 3], room: 64)
            Issue.record("a 3-byte request went through")
        } catch {
            #expect("\(error)".contains("EINVAL"), "\(error)")
        }
        gmc.endpoint.mapping.unlock()

        // vgpuctl's own commands use the r000_00 stub as it is and say so.
        let ci = try vg(root, ["control", "info", h100PF.description, "--json"])
        #expect(ci.status == 0 && ci.stdout.contains("\"wireFormat\" : \"r000_00\""), "\(ci.stdout) \(ci.stderr)")
        let types = try vg(root, ["control", "types", h100PF.description])
        #expect(types.status == 0 && types.stdout.contains("H100XM-20C"), "\(types.stdout) \(types.stderr)")

        // What travelled: MCTP/NVDM elements with GMC API headers, every one read by the peer.
        let commands = try Self.ring(root, writtenBy: .cpu)
        let responses = try Self.ring(root, writtenBy: .gsp)
        let names = commands.compactMap { $0.gmcapi.map { GMCCommandTable.name(of: $0.commandID) } }
        #expect(names.first == "GMCAPI_CMD_GSP_INIT")
        for n in [
            "ADD_VGPU_TYPE", "QUERY_SUPPORTED_VGPU_TYPES", "QUERY_CREATABLE_VGPU_TYPES", "ASSIGN_VGPU_TYPE",
            "DEASSIGN_VGPU_TYPE", "QUERY_VGPU_PROPERTIES", "QUERY_ASSIGNED_VF_VGPU_TYPE",
        ] {
            #expect(names.contains("GMCAPI_CMD_" + n), "\(n) not on the wire: \(names)")
        }
        #expect(
            commands.allSatisfy { $0.header.mctpMagic == GMCElementHeader.magicSeen && $0.header.nvdmType == .gmcapi })
        #expect(responses.count == commands.count)
        for (q, a) in zip(commands, responses) {
            #expect(a.gmcapi?.commandID == q.gmcapi?.commandID && a.gmcapi?.sequence == q.gmcapi?.sequence)
        }
        let assign = try #require(commands.first { $0.gmcapi?.commandID == 0x1000_0004 })
        #expect(assign.payload.count == 24 && assign.payload.le32(8) == 1205, "GmcapiAssignVgpuTypeInParams")
        // The firmware's queue carries the r000_00 msgqTxHeader.
        let file = [UInt8](try Data(contentsOf: URL(fileURLWithPath: sim.sharedFile)))
        let tx = GMCMsgqTxHeader(decoding: file, at: GspMemLayout.gspQueueOffset)
        #expect(tx.versionMajor == 1 && tx.versionMinor == 0 && tx.entryOff == 0x1000 && tx.msgCount == 0x3f)

        // The unload path over r000_00: UNLOADING_GUEST_DRIVER as an RM RPC element.
        let stop = try vg(root, ["gsp", "stop", h100PF.description, "--json"])
        #expect(stop.status == 0 && stop.stdout.contains("\"unloaded\" : true"), "\(stop.stdout) \(stop.stderr)")
        let log = try String(contentsOfFile: sim.logFile, encoding: .utf8)
        #expect(log.contains("UNLOADING_GUEST_DRIVER (RM RPC over NVDM 0x25): unloading"), "\(log)")
        #expect(log.contains("Booter Unloader and FWSEC-SB"), "\(log)")
        let last = try #require(try Self.ring(root, writtenBy: .cpu).last)
        #expect(last.rpc?.function == .unloadingGuestDriver && last.header.nvdmType == .rmRPC)
    }

    @Test func bothWireFormatsAnswerTheSameFirmwareModel() throws {
        // The same command sequence over r570.144 and r000_00 leaves the same firmware state (only
        // 1205 added, so only 1205 creatable).
        var seen: [[UInt32]] = []
        for format in ["r570.144", "r000_00"] {
            let root = try upstreamHost()
            try enableVFs(root)
            if format == "r570.144" {
                let stub = try BootedStub(root)
                defer { stub.close() }
                try stub.client.addType(Records.h100xm20C)
                try stub.client.assign(vf: try StubRoundTripTests.vfs(root)[2], typeID: 1205)
                seen.append(try stub.client.queryCreatable())
            } else {
                let boot = try vg(root, ["gsp", "boot", h100PF.description, "--firmware", format])
                try #require(boot.status == 0, "\(boot.stderr)")
                #expect(boot.stdout.contains("Wire format: r000_00"), "\(boot.stdout)")
                defer { _ = try? vg(root, ["gsp", "stop", h100PF.description]) }
                let status = try vg(root, ["gsp", "status", "--json"])
                #expect(status.stdout.contains("\"wireFormat\" : \"r000_00\""), "\(status.stdout)")
                let gmc = try SimulatedGSP(root: root, pf: h100PF).connectGMC()
                defer { gmc.endpoint.mapping.unlock() }
                let c = VGPUManagementClient(
                    transport: GMCStubTransport(gmc: gmc, name: "stub", pci: nil, vgpu: true, totalVFs: 32))
                c.buildVersion = "r000_00"
                try c.addType(Records.h100xm20C)
                try c.assign(vf: try StubRoundTripTests.vfs(root)[2], typeID: 1205)
                seen.append(try c.queryCreatable())
            }
        }
        #expect(seen.count == 2 && seen[0] == seen[1] && seen[0] == [1205], "\(seen)")
    }
}
