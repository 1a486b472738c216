import Foundation
import GSPMessaging
import HostKit
import TestSupport
import Testing

/// The development firmware's wire format (r000_00), byte for byte against hand-written hex
/// taken from the published layouts: `GSP_MSG_QUEUE_ELEMENT` in its MCTP form
/// (open-gpu-kernel-modules `message_queue_priv.h`, no encryption), the MCTP/NVDM header words
/// (`fsp_mctp_format.h`: version 3:0, EOM 30, SOM 31; type 6:0 = 0x7E, vendor 23:8 = 0x10DE,
/// NVDM type 31:24; `nvdm_format.h`: GMCAPI 0x26), `GMCAPI_HEADER` and `msgqTxHeader` from the
/// vGPU series author's `gsp/fw/r000_00/bindings.rs`.
@Suite struct GMCWireTests {
    /// ASSIGN_VGPU_TYPE of type 1203 to VF 0000:18:00.4, sequence 7, placement "firmware
    /// chooses", room for an 8-byte reply.
    static let assignRequest = annotatedHex(
        """
        00: 50 54 43 4d   // mctpMagic 0x4D435450 "MCTP"
        04: 50 00 00 00   // mctpPayloadSize 0x50 = 0x18 + 0x20 + 0x18
        08: 01 00 00 c0   // mctpHeader: version 1, EOM, SOM
        0c: 7e de 10 26   // nvdmHeader: vendor PCI 0x7E, vendor 0x10DE, NVDM_TYPE_GMCAPI 0x26
        10: 38 00 00 00   // nvdmPayloadSize 0x38 = GMCAPI_HEADER + payload
        14: 00 00 00 00   // reserved
        18: 04 00 00 10   // command_id 0x10000004 ASSIGN_VGPU_TYPE
        1c: 00 00 00 00   // reserved1
        20: 07 00 00 00 00 00 00 00   // sequence 7
        28: 18 00 00 00   // request.size 0x18
        2c: 08 00 00 00   // request.max_response_size 8
        30: 00 00 00 00 00 00 00 00   // reserved2
        38: 04 18 00 00 00 00 00 00   // dbdf: domain 0 (63:32), bus 0x18 (15:8), devfn 0x04 (7:0)
        40: b3 04 00 00   // vgpuTypeId 1203
        44: 00 00 00 00   // swizzId (reserved)
        48: ff ff 00 00   // placementId 0xFFFF, 2 bytes padding
        4c: 00 00 00 00   // padding to 24 bytes of params
        """)

    /// Its response: status NV_OK, no payload.
    static let assignResponse = annotatedHex(
        """
        00: 50 54 43 4d   // mctpMagic "MCTP"
        04: 38 00 00 00   // mctpPayloadSize 0x38 = 0x18 + 0x20
        08: 01 00 00 c0   // mctpHeader
        0c: 7e de 10 26   // nvdmHeader GMCAPI
        10: 20 00 00 00   // nvdmPayloadSize 0x20
        14: 00 00 00 00   // reserved
        18: 04 00 00 10   // command_id ASSIGN_VGPU_TYPE
        1c: 00 00 00 00   // reserved1
        20: 07 00 00 00 00 00 00 00   // sequence 7 (the request's)
        28: 00 00 00 00   // response.status NV_OK
        2c: 00 00 00 00   // response.size 0
        30: 00 00 00 00 00 00 00 00   // reserved2
        """)

    static let assignParams: [UInt8] = {
        var p = [UInt8](repeating: 0, count: 24)
        p.put32(0, 0x1804)
        p.put32(8, 1203)
        p.put16(16, 0xFFFF)
        return p
    }()

    @Test func requestAndResponseMatchThePublishedLayout() throws {
        let id = try #require(GMCCommandTable.id(named: "ASSIGN_VGPU_TYPE"))
        let req = GMCElement(
            gmcapi: .request(id, sequence: 7, payloadSize: 24, maxResponse: 8), payload: Self.assignParams)
        #expect(req.encoded == Self.assignRequest)
        let resp = GMCElement(gmcapi: .response(id, sequence: 7, status: 0, payloadSize: 0), payload: [])
        #expect(resp.encoded == Self.assignResponse)
        // And back.
        let decoded = try GMCElement(decoding: Self.assignRequest)
        #expect(decoded == req && decoded.gmcapi?.commandID == 0x1000_0004 && decoded.payload == Self.assignParams)
    }

    @Test func txHeaderHasTwoVersionWords() {
        let expected = annotatedHex(
            """
            00: 01 00 02 00   // versionMajor 1, versionMinor 2
            04: 00 00 04 00   // size 0x40000
            08: 00 10 00 00   // msgSize 0x1000
            0c: 3f 00 00 00   // msgCount 0x3f
            10: 00 10 00 00   // entryOff 0x1000
            14: 00 00 00 00 00 00 00 00 00 00 00 00   // reserved[3]
            """)
        #expect(GMCMsgqTxHeader(versionMajor: 1, versionMinor: 2).encoded == expected)
        #expect(GMCMsgqTxHeader(decoding: expected) == GMCMsgqTxHeader(versionMajor: 1, versionMinor: 2))
    }

    @Test func bothCommandIDSetsAndTheFormatTable() {
        #expect(GMCCommandTable.name(of: 0x1000_0001) == "GMCAPI_CMD_ADD_VGPU_TYPE")
        #expect(GMCCommandTable.name(of: 0x1000_0007) == "GMCAPI_CMD_QUERY_ASSIGNED_VF_VGPU_TYPE")
        #expect(GMCCommandTable.name(of: 0x1000_0023) == "GMCAPI_CMD_CLEANUP_GSP_VGPU_PLUGIN_RESOURCES")
        #expect(GMCCommandTable.name(of: 0x0001_0001) == "GMCAPI_CMD_GSP_INIT")
        #expect(GMCCommandTable.name(of: 0x0002_0004) == "GMCAPI 0x20004")
        #expect(GSPWireFormat.r570_144.elementHeaderSize == 0x30 && GSPWireFormat.r000_00.elementHeaderSize == 0x18)
        #expect(GSPWireFormat.r570_144.isMainline && !GSPWireFormat.r000_00.isMainline)
    }

    /// Each receiver check names its field.
    @Test(arguments: [
        (0, UInt32(0x1234_5678), "mctpMagic"), (8, UInt32(0xC000_0002), "MCTP header version"),
        (12, UInt32(0x26AB_CD7E), "vendor id"), (12, UInt32(0x2710_DE7E), "NVDM type"),
        (16, UInt32(0x37), "nvdmPayloadSize"), (4, UInt32(0x2_0000), "mctpPayloadSize"),
    ])
    func badElementsAreRejected(_ offset: Int, _ value: UInt32, _ mentions: String) {
        var b = Self.assignRequest
        b.put32(offset, value)
        #expect(throws: GMCDecodeError.self) { _ = try GMCElement(decoding: b) }
        do { _ = try GMCElement(decoding: b) } catch { #expect(error.problem.contains(mentions), "\(error)") }
    }

    /// `gsp decode --firmware r000_00` names every element of a ring dump.
    @Test func decodeOfADumpNamesEveryElement() throws {
        let dump =
            Self.assignRequest + [UInt8](repeating: 0, count: 0x1000 - Self.assignRequest.count)
            + Self.assignResponse + [UInt8](repeating: 0, count: 0x1000 - Self.assignResponse.count)
            + [UInt8](repeating: 0, count: 0x1000)
        let file = TestSupport.tempDir("gmc-decode") + "/ring.bin"
        try Data(dump).write(to: URL(fileURLWithPath: file))
        let r = try TestSupport.vgpuctl(["gsp", "decode", "--firmware", "r000_00", file])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("r000_00 (development firmware") && r.stdout.contains("2 element(s)"), "\(r.stdout)")
        #expect(
            r.stdout.contains("page 0: NVDM_TYPE_GMCAPI GMCAPI_CMD_ASSIGN_VGPU_TYPE seq 7")
                && r.stdout.contains("page 1: NVDM_TYPE_GMCAPI GMCAPI_CMD_ASSIGN_VGPU_TYPE seq 7"), "\(r.stdout)")
        var bad = dump
        bad.put32(0x1000 + 12, 0x2710_DE7E)
        try Data(bad).write(to: URL(fileURLWithPath: file))
        let rejected = try TestSupport.vgpuctl(["gsp", "decode", "--firmware", "r000_00", file])
        #expect(
            rejected.status == 2 && rejected.stderr.contains("element at byte 0x1000")
                && rejected.stderr.contains("NVDM type 0x27"), "\(rejected.stderr)")
    }
}
