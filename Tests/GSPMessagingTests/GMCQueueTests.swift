import Foundation
import GSPMessaging
import HostKit
import TestSupport
import Testing

/// The r000_00 wire format on a live ring (both ends in this process): elements of every size
/// cross intact through wrap-around, each read element is marked "SEEN", the tx headers are
/// r000_00's, and a receiver rejects a damaged element naming the page.
@Suite struct GMCQueueTests {
    func pair() throws -> (GMCEndpoint, GMCEndpoint, SharedMapping) {
        let m = try tempMapping()
        ControlPage(m).initialize(arguments: MessageQueueInitArguments(), wprMeta: WPRMeta())
        let cpu = GMCEndpoint(mapping: m, side: .cpu)
        let gsp = GMCEndpoint(mapping: m, side: .gsp)
        cpu.initializeOwnQueue()
        gsp.initializeOwnQueue()
        return (cpu, gsp, m)
    }

    @Test func elementsRoundTripThroughWrapAround() throws {
        let (cpu, gsp, m) = try pair()
        #expect(cpu.peerQueueLinked && gsp.peerQueueLinked)
        #expect(cpu.peerTxHeader == GMCMsgqTxHeader(versionMajor: 1, versionMinor: 0))
        // 200 requests of 0..~3 pages each: the 63-page ring wraps several times.
        for i in 0..<200 {
            let payload = (0..<((i * 997) % 12_000)).map { UInt8(truncatingIfNeeded: $0 &+ i) }
            let h = GMCAPIHeader.request(0x1000_0004, sequence: UInt64(i), payloadSize: payload.count, maxResponse: 8)
            try cpu.send(GMCElement(gmcapi: h, payload: payload), until: .now + .seconds(2))
            let got = try gsp.receive(until: .now + .seconds(2), waitingFor: "request \(i)")
            #expect(got.gmcapi == h && got.payload == payload, "element \(i)")
            let answer = GMCAPIHeader.response(0x1000_0004, sequence: UInt64(i), status: 0, payloadSize: 0)
            try gsp.send(GMCElement(gmcapi: answer, payload: []), until: .now + .seconds(2))
            #expect(try cpu.receive(until: .now + .seconds(2), waitingFor: "response \(i)").gmcapi == answer)
        }
        #expect(!cpu.hasPending && !gsp.hasPending)
        // The last request's first page now reads "SEEN" (the receiver rewrote the magic).
        let ring = m.bytes(GspMemLayout.cpuQueueOffset + GspMemLayout.entryOffset, GspMemLayout.ringSize)
        let magics = stride(from: 0, to: ring.count, by: GspMemLayout.pageSize).map { ring.le32($0) }
        #expect(!magics.contains(GMCElementHeader.magic), "an element left unread")
        #expect(magics.contains(GMCElementHeader.magicSeen))
    }

    @Test func anRMRPCElementCrossesToo() throws {
        let (cpu, gsp, _) = try pair()
        let rpc = RPCHeader(
            length: UInt32(RPCHeader.size + UnloadingGuestDriver.size), function: .unloadingGuestDriver, sequence: 3)
        try cpu.send(GMCElement(rpc: rpc, payload: UnloadingGuestDriver().encoded), until: .now + .seconds(1))
        let got = try gsp.receive(until: .now + .seconds(1), waitingFor: "the RPC")
        #expect(got.header.nvdmType == .rmRPC && got.rpc?.function == .unloadingGuestDriver && got.rpc?.sequence == 3)
    }

    @Test func aDamagedElementIsRejectedNamingItsPage() throws {
        let (cpu, gsp, m) = try pair()
        try cpu.send(
            GMCElement(gmcapi: .request(0x1000_0002, sequence: 0, payloadSize: 0, maxResponse: 512), payload: []),
            until: .now + .seconds(1))
        // The NVDM vendor id (bits 23:8 of nvdmHeader at +0x0c) is not NVIDIA's.
        m.write(GspMemLayout.cpuQueueOffset + GspMemLayout.entryOffset + 0x0C, [0x7E, 0x34, 0x12, 0x26])
        do {
            _ = try gsp.receive(until: .now + .seconds(1), waitingFor: "a command")
            Issue.record("a damaged element was accepted")
        } catch {
            #expect(
                "\(error)".contains("element at page 0") && "\(error)".contains("NVDM vendor id is 0x1234"), "\(error)")
        }
    }

    @Test func systemInfoKeysRoundTripAndRejectStrangers() throws {
        let info = GMCSystemInfo(
            totalVFs: 32, firstVFOffset: 4, firstVFBarAddresses: [0x1000, 0x2000_0000_0000, 0x3000])
        // IMM32 key 128 = 32; IMM32 key 129 = 4; SEQ64 key 0x1050 count 3; three u64 values.
        #expect(
            info.encoded
                == annotatedHex(
                    """
                    80 00 00 00 20 00 00 00   // IMM32 NVGMC_SI_VF_TOTAL_VFS = 32
                    81 00 00 00 04 00 00 00   // IMM32 NVGMC_SI_VF_FIRST_VF_OFFSET = 4
                    50 10 00 20 03 00 00 00   // SEQ64 0x1050, count 3
                    00 10 00 00 00 00 00 00   // BAR0
                    00 00 00 00 00 20 00 00   // BAR1
                    00 30 00 00 00 00 00 00   // BAR2
                    """))
        #expect(try GMCSystemInfo(decoding: info.encoded) == info)
        var bad = info.encoded
        bad[0] = 0x99
        #expect(throws: VGPUPayloadError.self) { try GMCSystemInfo(decoding: bad) }
    }
}
