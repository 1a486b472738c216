import ControlChannel
import Foundation
import GSPMessaging
import HostKit
import TestSupport
import Testing

/// Every management command through gsp-stub over the GSP queues (booted with `vgpuctl gsp
/// boot`), the refusals of the firmware model, the kernel's checks the stub transport plays,
/// and bad replies from a misbehaving stub.
@Suite(.serialized) struct StubRoundTripTests {
    static func vfs(_ root: HostRoot) throws -> [PCIAddress] {
        try #require(SysfsReader(root: root).device(h100PF)?.sriov?.vfs)
    }

    /// The refusal `body` ends with: its command, status and the reason's words.
    static func refusal(
        _ body: () throws(ControlChannelError) -> Void, command: String, status: UInt32, _ words: [String] = [],
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        do {
            try body()
            Issue.record("\(command) was not refused", sourceLocation: sourceLocation)
        } catch {
            guard case .refused(let c, let s, let detail) = error else {
                Issue.record("expected a refusal, got: \(error)", sourceLocation: sourceLocation)
                return
            }
            #expect(c == command && s == status, "\(error)", sourceLocation: sourceLocation)
            for w in words {
                #expect((detail ?? "").contains(w), "'\(w)' missing: \(error)", sourceLocation: sourceLocation)
            }
            #expect(
                error.description.hasPrefix("the firmware refused \(command) with \(NVStatusText.describe(status))"),
                sourceLocation: sourceLocation)
        }
    }

    @Test func everyCommandRoundTripsThroughTheStub() throws {
        let root = try upstreamHost()
        try enableVFs(root)
        let stub = try BootedStub(root)
        defer { stub.close() }
        let c = stub.client
        let vf = try Self.vfs(root)
        try c.requireNovaCore()
        let info = try #require(NovaCoreInfo(decoding: try c.info().deviceData))
        #expect(info.deviceID == 0x2330 && info.vgpu && info.totalVFs == 32 && info.firmwareVersion == "570.144")

        #expect(try c.querySupported() == [], "the firmware starts knowing no type")
        #expect(try c.queryCreatable() == [])
        for r in [Records.h100xm20C, Records.h100xm40C, Records.h100xm1g10C] { try c.addType(r) }
        #expect(try c.querySupported() == [1205, 1206, 1208])
        #expect(try c.queryProperties(1205) == Records.h100xm20C)
        #expect(try c.queryProperties(1208) == Records.h100xm1g10C, "a MIG-backed type keeps its GPU instance")
        #expect(try c.queryCreatable() == [1205, 1206, 1208])

        #expect(try c.queryAssigned(vf: vf[0]) == nil)
        try c.assign(vf: vf[0], typeID: 1205)
        // The engine report: the type's 8 copy engines (shared: time-sliced), the VF's whole
        // 4 GiB BAR1 where its sysfs resource puts it.
        let bar1 = vf.map { SysfsReader(root: root).resources($0)[1] }
        #expect(bar1.prefix(2).allSatisfy { $0.size == 4 << 30 }, "\(bar1.prefix(2))")
        #expect(
            try c.queryAssigned(vf: vf[0])
                == AssignedVF(
                    typeID: 1205, placement: 0, channelOffset: 0, channels: 512,
                    framebufferOffsetMiB: 0, framebufferMiB: 20320, copyEngineMask: 0xFF, bar1Address: bar1[0].start,
                    bar1Size: 4 << 30))
        try c.assign(vf: vf[1], typeID: 1205, placement: 40, channelOffset: 1024)
        #expect(
            try c.queryAssigned(vf: vf[1])
                == AssignedVF(
                    typeID: 1205, placement: 40, channelOffset: 1024, channels: 512,
                    framebufferOffsetMiB: 40 * 1016, framebufferMiB: 20320, copyEngineMask: 0xFF,
                    bar1Address: bar1[1].start, bar1Size: 4 << 30))
        // 40C needs units 0..<40 or 40..<80, both partly taken; MIG cannot join time-sliced VFs.
        #expect(try c.queryCreatable() == [1205])
        try c.deassign(vf: vf[1])
        #expect(try c.queryAssigned(vf: vf[1]) == nil)
        try c.deassign(vf: vf[1])  // nothing to remove: still fine
        #expect(try c.queryCreatable() == [1205, 1206])
        #expect(processes(mentioning: root.path).count == 1, "one stub: the booted one")
    }

    @Test func theFirmwareRefusesWhatItCannotHold() throws {
        let root = try upstreamHost()
        try enableVFs(root)
        let stub = try BootedStub(root)
        defer { stub.close() }
        let c = stub.client
        let vf = try Self.vfs(root)
        try c.addType(Records.h100xm20C)
        try c.addType(Records.h100xm40C)
        try c.assign(vf: vf[0], typeID: 1206)

        Self.refusal(
            { () throws(ControlChannelError) in try c.assign(vf: vf[1], typeID: 4242) },
            command: "ASSIGN_VGPU_TYPE", status: NVStatus.errObjectNotFound, ["vGPU type 4242 was never added"])
        Self.refusal(
            { () throws(ControlChannelError) in try c.assign(vf: vf[0], typeID: 1205) },
            command: "ASSIGN_VGPU_TYPE", status: NVStatusText.errInUse, ["VF 0 already carries type 1206"])
        Self.refusal(
            { () throws(ControlChannelError) in try c.assign(vf: vf[1], typeID: 1206, placement: 0) },
            command: "ASSIGN_VGPU_TYPE", status: NVStatus.errInsufficientResources,
            ["H100XM-40C is not creatable on VF 1", "no free placement"])
        Self.refusal(
            { () throws(ControlChannelError) in try c.assign(vf: h100PF, typeID: 1205) },
            command: "ASSIGN_VGPU_TYPE", status: NVStatusText.errInvalidIndex,
            ["0000:18:00.0 is not a VF of 0000:18:00.0"])
        Self.refusal(
            { () throws(ControlChannelError) in _ = try c.queryAssigned(vf: PCIAddress("0000:19:00.4")!) },
            command: "QUERY_ASSIGNED_VF_VGPU_TYPE", status: NVStatusText.errInvalidIndex)
        Self.refusal(
            { () throws(ControlChannelError) in _ = try c.queryProperties(4242) },
            command: "QUERY_VGPU_PROPERTIES", status: NVStatus.errObjectNotFound, ["unknown vGPU type id 4242"])
        var broken = Records.h100xm20C
        broken.id = 9
        broken.channels = 0
        Self.refusal(
            { () throws(ControlChannelError) in try c.addType(broken) },
            command: "ADD_VGPU_TYPE", status: NVStatus.errInvalidData, ["it has no channels"])
        var redefined = Records.h100xm40C
        redefined.maxInstances = 1
        Self.refusal(
            { () throws(ControlChannelError) in try c.addType(redefined) },
            command: "ADD_VGPU_TYPE", status: NVStatusText.errInUse, ["in use by a VF"])
        c.buildVersion = "535.113"
        Self.refusal(
            { () throws(ControlChannelError) in try c.addType(Records.h100xm1g10C) },
            command: "ADD_VGPU_TYPE", status: NVStatus.errInvalidArgument, ["built for GSP-RM 535.113, this is 570.144"]
        )
        // Nothing refused changed the firmware.
        #expect(try c.querySupported() == [1205, 1206])
        #expect(try c.queryAssigned(vf: vf[0])?.typeID == 1206 && c.queryAssigned(vf: vf[1]) == nil)
    }

    @Test func theStubTransportChecksWhatTheKernelWould() throws {
        let root = try upstreamHost()
        let stub = try BootedStub(root, scope: .debugWrite)
        defer { stub.close() }
        do {
            _ = try stub.client.querySupported()
            Issue.record("a debug scope went through")
        } catch {
            #expect(
                error.description.contains(
                    "refused FWCTL_RPC QUERY_SUPPORTED_VGPU_TYPES with EPERM: nova-core permits the vGPU management commands only in the FWCTL_RPC_CONFIGURATION scope"
                ), "\(error)")
        }
        let t = stub.transport
        var request = ManagementRequest.querySupported.encoded
        request.put32(4, 7)
        for (req, room, name) in [
            (request, 64, "EINVAL"), ([UInt8](repeating: 0, count: 4), 64, "EINVAL"),
            (ManagementRequest.querySupported.encoded, Fwctl.maxRPCLength + 1, "EMSGSIZE"),
            (annotatedHex("09 00 02 00 00 00 00 00"), 64, "EPERM"),
        ] {
            #expect { _ = try t.rpc(scope: .configuration, request: req, room: room) } throws: { e in
                (e as? ControlChannelError)?.description.contains("with \(name)") == true
            }
        }
    }

    @Test func aStubBootedWithoutVGPURefuses() throws {
        let root = try upstreamHost()
        let stub = try BootedStub(root, boot: ["--vgpu", "off"])
        defer { stub.close() }
        Self.refusal(
            { () throws(ControlChannelError) in _ = try stub.client.querySupported() },
            command: "QUERY_SUPPORTED_VGPU_TYPES", status: NVStatus.errNotSupported, ["booted without vGPU"])
        #expect(try NovaCoreInfo(decoding: stub.client.info().deviceData)?.vgpu == false)
    }

    static let faults: [(String, @Sendable (ControlChannelError) -> Bool)] = [
        ("short", { if case .badReply(_, .short(4, 8)) = $0 { true } else { false } }),
        ("wrong-command", { if case .badReply(_, .wrongCommand(0x20002, 0x20003)) = $0 { true } else { false } }),
        ("reserved", { if case .badReply(_, .reservedNotZero(0xDEAD)) = $0 { true } else { false } }),
        ("oversized", { if case .badReply(_, .oversized(8 + 512 + 64, 8 + 512)) = $0 { true } else { false } }),
        (
            "refuse:NV_ERR_INVALID_STATE",
            { if case .refused(_, NVStatus.errInvalidState, nil) = $0 { true } else { false } }
        ),
    ]

    @Test(arguments: faults)
    func badRepliesGiveClearErrors(fault: String, matches: @Sendable (ControlChannelError) -> Bool) throws {
        let root = try upstreamHost()
        let stub = try BootedStub(root, env: ["VGPUCTL_STUB_FWCTL_FAULT": fault])
        defer { stub.close() }
        do {
            _ = try stub.client.querySupported()
            Issue.record("\(fault): no error")
        } catch {
            #expect(matches(error), "\(fault): \(error)")
            #expect(
                error.description.hasPrefix(
                    fault.hasPrefix("refuse")
                        ? "the firmware refused QUERY_SUPPORTED_VGPU_TYPES"
                        : "bad reply to QUERY_SUPPORTED_VGPU_TYPES: "), "\(error)")
        }
    }

    @Test func anErrorRPCResultIsReported() throws {
        let root = try upstreamHost()
        let stub = try BootedStub(root, boot: ["--stub-fault", "rpc-error:GSP_RM_CONTROL:NV_ERR_INVALID_STATE"])
        defer { stub.close() }
        do {
            _ = try stub.client.querySupported()
            Issue.record("no error")
        } catch {
            guard case .queue(.rpcFailed(.gspRmControl, _, NVStatus.errInvalidState)) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(
                error.description.contains("GSP-RM answered GSP_RM_CONTROL")
                    && error.description.contains("rpc_result 0x40 (NV_ERR_INVALID_STATE)"))
        }
    }

    @Test func aStubThatDiesIsNamed() throws {
        let root = try upstreamHost()
        let stub = try BootedStub(root)
        defer { stub.close() }
        _ = try stub.client.querySupported()
        let pid = try #require(SimulatedGSP(root: root, pf: h100PF).record?.pid)
        kill(pid, SIGKILL)
        do {
            _ = try stub.client.querySupported()
            Issue.record("no error")
        } catch {
            #expect(error.description.contains("gsp-stub (pid \(pid)) is no longer running"), "\(error)")
        }
    }

    /// RM objects: a client, device and subdevice per channel, freed on close; handles come back.
    @Test func rmHandlesAreAllocatedAndReleased() throws {
        let root = try upstreamHost()
        let stub = try BootedStub(root)
        defer { stub.close() }
        let gsp = stub.transport.gsp
        let a = RMSession(gsp: gsp, slot: 77)
        let client = try a.openClient()
        #expect(client.handle == 0xC7C0_4D00)
        let sub = try a.subdevice()
        #expect(sub.handle == 0xC7C0_4D02 && sub.hClass == 0x2080 && a.handles.live == [0xC7C0_4D01, 0xC7C0_4D02])
        #expect(try a.control(sub, RMControlCommand.null, params: [1, 2, 3]) == [1, 2, 3])
        // A second session in the same slot finds the client handle taken and moves on.
        let b = RMSession(gsp: gsp, slot: 77)
        #expect(try b.openClient().handle == 0xC7C0_4E00)
        b.close()
        try a.free(sub)
        #expect(a.handles.live == [0xC7C0_4D01])
        do {
            _ = try a.control(sub, RMControlCommand.null, params: [])
            Issue.record("a control on a freed object succeeded")
        } catch {
            #expect(
                error.description
                    == "GSP_RM_CONTROL 0x0 on NV20_SUBDEVICE_0 0xc7c04d02 failed with RM status 0x33 (NV_ERR_INVALID_OBJECT_HANDLE)"
            )
        }
        a.close()
        // The client was freed: its handle is free for a new session.
        let c = RMSession(gsp: gsp, slot: 77)
        #expect(try c.openClient().handle == 0xC7C0_4D00)
        c.close()
    }

    /// A stub started for one vgpuctl process exits when that process is gone.
    @Test func aStubExitsWhenItsOwnerIsGone() throws {
        let root = try upstreamHost()
        let owner = Process()
        owner.executableURL = URL(fileURLWithPath: "/bin/sleep")
        owner.arguments = ["0.5"]
        try owner.run()
        let sim = SimulatedGSP(root: HostRoot(TestSupport.tempDir("cc-owner")), pf: h100PF)
        try StubHostLink(hostRoot: root.path, ownerPid: owner.processIdentifier).write(into: sim.directory)
        let config = try PFConfig.read(root: root, address: h100PF)
        let plan = try VGPUBootPlan.make(
            pf: h100PF, config: config.config, sriovOffset: config.sriovOffset, mode: .auto,
            frameBufferBytes: 81559 << 20)
        let report = try sim.boot(
            plan: plan, model: "h100-sxm5-80gb",
            launcher: StubLauncher(
                executable: TestSupport.productsDirectory + "/gsp-stub",
                environment: ProcessInfo.processInfo.environment),
            receiveTimeout: .seconds(10))
        let pid = try #require(report.stubPid)
        defer { StubProcess.stop(pid) }
        #expect(StubProcess.ending(of: pid) == nil)
        owner.waitUntilExit()
        let deadline = ContinuousClock.now + .seconds(5)
        while StubProcess.ending(of: pid) == nil && ContinuousClock.now < deadline { usleep(50_000) }
        #expect(StubProcess.ending(of: pid) != nil, "the stub outlived its owner")
        #expect(
            (try? String(contentsOfFile: sim.logFile, encoding: .utf8))?.contains("which started this stub, is gone")
                == true)
    }
}
