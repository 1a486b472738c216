import Foundation
import GSPMessaging
import HostKit
import TestSupport
import Testing

/// The vGPU-enabled boot against the real gsp-stub process, through the built vgpuctl.
@Suite struct BootTests {
    /// What the stub writes to stub.json (the parts the tests read).
    struct StubReport: Decodable {
        var pid: Int32
        var firmwareState: String
        var vfInfo: GSPVFInfo?
        var registry: [RegistryEntry]?
        var wprHeapMiB: UInt64
        var vfPartitionCount: UInt8
        var log: [String]
        var halt: String?
    }

    func stubReport(_ root: HostRoot, _ pf: String = h100PF) throws -> StubReport {
        let data = try Data(contentsOf: URL(fileURLWithPath: root.url("run/vgpuctl/gsp/\(pf)/stub.json")))
        return try JSONDecoder().decode(StubReport.self, from: data)
    }

    /// GSP_VF_INFO as the PF's config space says, decoded independently: the `config` file read
    /// directly (not through libpci) and HostKit's SR-IOV decoder, VF BARs taken in order.
    func vfInfoFromConfigFile(_ root: HostRoot, _ pf: String) throws -> GSPVFInfo {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: root.url("sys/bus/pci/devices/\(pf)/config"))))
        let sriov = try #require(ConfigSpace(bytes).sriov)
        let bars = sriov.vfBARs.sorted { $0.index < $1.index }
        try #require(bars.count == 3)
        return GSPVFInfo(
            totalVFs: UInt32(sriov.totalVFs), firstVFOffset: UInt32(sriov.firstVFOffset),
            firstVFBar0Address: bars[0].address, firstVFBar1Address: bars[1].address,
            firstVFBar2Address: bars[2].address,
            b64bitBar0: bars[0].is64Bit, b64bitBar1: bars[1].is64Bit, b64bitBar2: bars[2].is64Bit)
    }

    @Test func vgpuBootOnAnH100PF() throws {
        let root = try h100Host()
        defer { stopStub(root) }
        let r = try TestSupport.vgpuctl(["--root", root.path, "gsp", "boot", h100PF, "--json"])
        try #require(r.status == 0, "stderr: \(r.stderr)")
        let report = try JSONDecoder().decode(VGPUBootReport.self, from: Data(r.stdout.utf8))

        // Transcript order: the two queued commands, the boot events, then static info. A
        // Hopper part boots through FSP: no CPU sequencer request (BootPathTests has the other).
        let names = report.transcript.map(\.functionName)
        let setSys = try #require(names.firstIndex(of: "GSP_SET_SYSTEM_INFO"))
        let setReg = try #require(names.firstIndex(of: "SET_REGISTRY"))
        let done = try #require(names.firstIndex(of: "GSP_INIT_DONE"))
        let stat = try #require(names.lastIndex(of: "GET_GSP_STATIC_INFO"))
        #expect(setSys < setReg && setReg < done && done < stat)
        #expect(!names.contains("GSP_RUN_CPU_SEQUENCER"))
        #expect(names.contains("UCODE_LIBOS_PRINT"))
        #expect(report.transcript[setSys].direction == .toGSP && report.transcript[done].direction == .fromGSP)
        #expect(report.transcript[setSys].length == UInt32(0x20 + GSPSystemInfo.size))
        // Sequence numbers per queue count up from 0.
        #expect(report.transcript.filter { $0.direction == .toGSP }.map(\.seqNum) == [0, 1, 2])
        #expect(report.transcript.filter { $0.direction == .fromGSP }.map(\.seqNum) == Array(0..<4))

        // What the firmware received equals what the PF's config space says.
        let expected = try vfInfoFromConfigFile(root, h100PF)
        #expect(expected.totalVFs == 32 && expected.firstVFOffset == 4 && expected.b64bitBar1 && !expected.b64bitBar0)
        let stub = try stubReport(root)
        #expect(stub.vfInfo == expected)
        #expect(report.vfInfo == expected)
        #expect(stub.registry?.first { $0.key == "RMSetSriovMode" }?.value == 1)
        #expect(stub.wprHeapMiB == 581 && stub.vfPartitionCount == 32)
        #expect(stub.firmwareState == "running")

        // The static info reflects vGPU mode.
        #expect(report.vgpu && report.staticInfo.isVgx && report.staticInfo.sriov.sriovEnabled)
        #expect(report.staticInfo.sriov.totalVFs == 32)
        #expect(report.staticInfo.sriov.firstVFBar1Address == expected.firstVFBar1Address)
        #expect(report.staticInfo.gpuName == "NVIDIA H100 80GB HBM3")
        #expect(report.staticInfo.fbLength == 81559 << 20)

        // The stub keeps running for later stages; status shows it; stop ends it.
        let pid = try #require(report.stubPid)
        #expect(stub.pid == pid)
        #expect(StubProcess.ending(of: pid) == nil)
        let s = try TestSupport.vgpuctl(["--root", root.path, "gsp", "status", "--json"])
        #expect(s.status == 0)
        let statuses = try JSONDecoder().decode([GSPStubStatus].self, from: Data(s.stdout.utf8))
        #expect(statuses.map(\.pf) == [h100PF])
        #expect(
            statuses.first?.process == "running" && statuses.first?.firmware == "running"
                && statuses.first?.booted == true)
        let stop = try TestSupport.vgpuctl(["--root", root.path, "gsp", "stop", h100PF])
        #expect(stop.status == 0 && stop.stdout.contains("stopped gsp-stub"))
        #expect(processes(mentioning: root.path).isEmpty)
        let after = try TestSupport.vgpuctl(["--root", root.path, "gsp", "status", "--json"])
        #expect(after.stdout.contains("[") && !after.stdout.contains(h100PF))
    }

    @Test func textOutputShowsTranscriptAndStaticInfo() throws {
        let root = try h100Host()
        defer { stopStub(root) }
        let r = try TestSupport.vgpuctl(["--root", root.path, "gsp", "boot", h100PF])
        try #require(r.status == 0, "stderr: \(r.stderr)")
        for w in [
            "cpu->gsp", "GSP_SET_SYSTEM_INFO", "SET_REGISTRY", "GSP_INIT_DONE", "RMSetSriovMode=1",
            "totalVFs 32", "NVIDIA H100 80GB HBM3", "vgpuctl gsp stop \(h100PF)",
        ] {
            #expect(r.stdout.contains(w), "missing '\(w)'")
        }
    }

    @Test func secondBootIsRefusedWhileTheStubRuns() throws {
        let root = try h100Host()
        defer { stopStub(root) }
        try #require(try TestSupport.vgpuctl(["--root", root.path, "gsp", "boot", h100PF, "--json"]).status == 0)
        let again = try TestSupport.vgpuctl(["--root", root.path, "gsp", "boot", h100PF])
        #expect(again.status == 4)
        #expect(again.stderr.contains("already serves") && again.stderr.contains("gsp stop"))
    }

    @Test func bootWithoutVGPUSendsNoVFInfo() throws {
        let root = try h100Host()
        defer { stopStub(root) }
        let r = try TestSupport.vgpuctl(["--root", root.path, "gsp", "boot", h100PF, "--vgpu", "off", "--json"])
        try #require(r.status == 0, "stderr: \(r.stderr)")
        let report = try JSONDecoder().decode(VGPUBootReport.self, from: Data(r.stdout.utf8))
        #expect(!report.vgpu && report.vfInfo == .none && !report.staticInfo.sriov.sriovEnabled)
        #expect(!report.registry.contains { $0.key == "RMSetSriovMode" })
        #expect(report.wprHeapMiB < 581)
        #expect(try stubReport(root).vfInfo == GSPVFInfo.none)
    }

    @Test func gpuWithoutSRIOVBootsWithoutVGPUOrRefusesVGPUOn() throws {
        let root = try TestSupport.simHost("mixed")
        defer { stopStub(root, "0000:03:00.0") }
        let on = try TestSupport.vgpuctl(["--root", root.path, "gsp", "boot", "0000:03:00.0", "--vgpu", "on"])
        #expect(on.status == 2 && on.stderr.contains("no SR-IOV capability"))
        let auto = try TestSupport.vgpuctl(["--root", root.path, "gsp", "boot", "0000:03:00.0", "--json"])
        try #require(auto.status == 0, "stderr: \(auto.stderr)")
        #expect(try JSONDecoder().decode(VGPUBootReport.self, from: Data(auto.stdout.utf8)).vgpu == false)
    }

    @Test func unknownRegistryKeyIsLoggedByGSPAsOSErrorLog() throws {
        let root = try h100Host()
        defer { stopStub(root) }
        let r = try TestSupport.vgpuctl([
            "--root", root.path, "gsp", "boot", h100PF, "--registry", "RMBogusKey=0x10", "--json",
        ])
        try #require(r.status == 0, "stderr: \(r.stderr)")
        let report = try JSONDecoder().decode(VGPUBootReport.self, from: Data(r.stdout.utf8))
        let log = try #require(report.transcript.first { $0.functionName == "OS_ERROR_LOG" })
        #expect(log.note?.contains("RMBogusKey=16 is unknown") == true)
        #expect(report.logs.contains { $0.hasPrefix("OS_ERROR_LOG") && $0.contains("RMBogusKey") })
    }

    /// After boot, another process (this test) talks to the running stub: RM alloc, control and
    /// free, an unknown function, and 64 KiB controls through continuation records both ways.
    @Test func rmCallsAfterBootFromAnotherProcess() throws {
        let root = try h100Host()
        defer { stopStub(root) }
        try #require(try TestSupport.vgpuctl(["--root", root.path, "gsp", "boot", h100PF, "--json"]).status == 0)
        let pf = try #require(PCIAddress(h100PF))
        do {
            let client = try SimulatedGSP(root: root, pf: pf).connect(receiveTimeout: .seconds(10))
            let hClient: UInt32 = 0xCAFE_0001
            let hDevice: UInt32 = 0xCAFE_0080
            let hSub: UInt32 = 0xCAFE_2080
            _ = try client.rmAlloc(hClient: hClient, hParent: 0, hObject: hClient, hClass: RMClass.rootClient)
            _ = try client.rmAlloc(hClient: hClient, hParent: hClient, hObject: hDevice, hClass: RMClass.device)
            _ = try client.rmAlloc(hClient: hClient, hParent: hDevice, hObject: hSub, hClass: RMClass.subdevice)
            var params = [UInt8](repeating: 0, count: 4 + 2 * RMControlCommand.maxNameStringLength)
            params = try client.rmControl(
                hClient: hClient, hObject: hSub, cmd: RMControlCommand.gpuGetNameString, params: params)
            #expect(params.cString(4, 64) == "NVIDIA H100 80GB HBM3")
            // A subdevice under a client is the wrong parent.
            #expect(throws: GSPError.self) {
                _ = try client.rmAlloc(
                    hClient: hClient, hParent: hClient, hObject: 0xCAFE_2081, hClass: RMClass.subdevice)
            }
            // A control the firmware does not serve.
            #expect {
                _ = try client.rmControl(hClient: hClient, hObject: hSub, cmd: 0x2080_0199, params: [])
            } throws: { "\($0)".contains("NV_ERR_NOT_SUPPORTED") }
            // A payload of the wrong size for its function.
            #expect { _ = try client.call(.getGspStaticInfo, [0, 0, 0, 0]) } throws: {
                "\($0)".contains("NV_VGPU_MSG_RESULT_RPC_INVALID_MESSAGE_FORMAT")
            }
            // A function the firmware does not serve.
            #expect { _ = try client.call(RPCFunction(50), [1, 2, 3]) } throws: {
                "\($0)".contains("NV_VGPU_MSG_RESULT_RPC_UNKNOWN_FUNCTION")
            }
            try client.rmFree(hClient: hClient, hParent: hClient, hObject: hClient)
            #expect {
                _ = try client.rmControl(
                    hClient: hClient, hObject: hSub, cmd: RMControlCommand.gpuGetNameString, params: params)
            } throws: { "\($0)".contains("NV_ERR_INVALID_OBJECT_HANDLE") }
        }
        // A third process continues the sequence numbers: 64 KiB round trips.
        let ping = try TestSupport.vgpuctl([
            "--root", root.path, "gsp", "ping", h100PF, "--count", "20", "--size", "65536", "--json",
        ])
        #expect(ping.status == 0, "stderr: \(ping.stderr)")
        #expect(ping.stdout.contains("\"elementsPerMessage\" : 2"))
    }

    /// A command failing the firmware's checks (checksum, sequence number) halts GSP-RM; the
    /// driver says why, from the firmware's last OS_ERROR_LOG.
    @Test(arguments: [(true, false, "bad checksum"), (false, true, "sequence number")])
    func stubHaltsOnABadCommand(corrupt: Bool, skip: Bool, reason: String) throws {
        let root = try h100Host()
        defer { stopStub(root) }
        try #require(try TestSupport.vgpuctl(["--root", root.path, "gsp", "boot", h100PF, "--json"]).status == 0)
        let client = try SimulatedGSP(root: root, pf: #require(PCIAddress(h100PF))).connect(receiveTimeout: .seconds(5))
        client.endpoint.sendFault = { _ in (corruptChecksum: corrupt, skipSequence: skip) }
        #expect {
            _ = try client.call(.nop, [1, 2, 3, 4])
        } throws: { e in
            let s = "\(e)"
            return s.contains("GSP-RM halted") && s.contains(reason) && s.contains("NV_ERR_INVALID_DATA")
        }
        let stub = try stubReport(root)
        #expect(stub.firmwareState == "halted")
        #expect(stub.halt?.contains(reason) == true)
        let status = try TestSupport.vgpuctl(["--root", root.path, "gsp", "status"])
        #expect(status.stdout.contains("halted"))
    }
}
