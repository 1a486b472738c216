import ControlChannel
import Foundation
import GSPMessaging
import HostKit
import TestSupport
import Testing

/// Golden bytes of every request and reply kind, NVKV, the stub control's parameters and the
/// nova-core FWCTL_INFO data, written as annotated hex.
@Suite struct ManagementWireTests {
    static let vf4 = PCIAddress("0000:18:00.4")!

    static let h100xm20CNVKV = annotatedHex(
        """
        00 31 00 30 0b 00 00 00  // TYPE_NAME 0x3100, ARRAY8 (3), 11 bytes
        48 31 30 30 58 4d 2d 32  // "H100XM-2"
        30 43 00 00 00 00 00 00  // "0C", NUL, zero padding
        02 31 00 00 b5 04 00 00  // TYPE_ID 0x3102, IMM32 = 1205
        04 31 00 00 04 00 00 00  // MAX_INSTANCE 0x3104, IMM32 = 4
        06 31 00 20 01 00 00 00  // PROFILE_SIZE 0x3106, SEQ64 (2), 1 key
        00 00 00 00 05 00 00 00  //   20480 MiB in bytes
        0d 31 00 20 01 00 00 00  // FB_LENGTH 0x310D, SEQ64, 1 key
        00 00 00 f6 04 00 00 00  //   20320 MiB in bytes
        80 31 00 30 02 00 00 00  // vgpuctl series 0x3180, ARRAY8, 2 bytes
        43 00 00 00 00 00 00 00  //   "C", NUL
        81 31 00 00 14 00 00 00  // vgpuctl placement size 0x3181 = 20
        82 31 00 40 04 00 00 00  // vgpuctl placements 0x3182, ARRAY32 (4), 4 values
        00 00 00 00 14 00 00 00  //   0, 20
        28 00 00 00 3c 00 00 00  //   40, 60
        83 31 00 00 00 02 00 00  // vgpuctl channels 0x3183 = 512
        84 31 00 00 08 00 00 00  // vgpuctl copy engines 0x3184 = 8
        """)

    @Test func nvkvOfAVGPUType() throws {
        #expect(Records.h100xm20C.nvkv == Self.h100xm20CNVKV, "\(hexString(Records.h100xm20C.nvkv))")
        #expect(try VGPUTypeRecord(nvkv: Self.h100xm20CNVKV) == Records.h100xm20C)
        #expect(try VGPUTypeRecord(nvkv: Records.h100xm1g10C.nvkv) == Records.h100xm1g10C)
    }

    @Test func nvkvOpcodesAndErrors() throws {
        let seq32 = annotatedHex(
            """
            10 00 00 10 03 00 00 00  // key 0x10, SEQ32 (1), 3 keys
            01 00 00 00 02 00 00 00  //   0x10 = 1, 0x11 = 2
            03 00 00 00 00 00 00 00  //   0x12 = 3, padding
            20 00 05 50 02 00 00 00  // key 0x20, index 5, ARRAY64 (5), 2 values
            aa 00 00 00 00 00 00 00
            bb 00 00 00 00 00 00 00
            """)
        let e = try NVKV.decode(seq32)
        #expect(e.map(\.key) == [0x10, 0x11, 0x12, 0x20])
        #expect(e.prefix(3).map(\.value) == [.u32(1), .u32(2), .u32(3)])
        #expect(e[3] == NVKV.Entry(key: 0x20, index: 5, value: .u64s([0xAA, 0xBB])))
        // Not whole words; an unknown opcode; a count running past the end; a sequence past key 0xffff.
        #expect(throws: NVKV.DecodeError.self) { try NVKV.decode([1, 2, 3]) }
        #expect(throws: NVKV.DecodeError.self) { try NVKV.decode(annotatedHex("00 31 00 70 00 00 00 00")) }
        #expect(throws: NVKV.DecodeError.self) { try NVKV.decode(annotatedHex("00 31 00 30 ff ff ff ff")) }
        #expect(throws: NVKV.DecodeError.self) {
            try NVKV.decode(annotatedHex("ff ff 00 20 02 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"))
        }
        // A record needs its id and name.
        #expect(throws: NVKV.DecodeError.self) { try VGPUTypeRecord(nvkv: annotatedHex("02 31 00 00 b5 04 00 00")) }
    }

    @Test func requests() {
        let header = { (id: UInt8) in annotatedHex("0\(id) 00 02 00 00 00 00 00") }
        #expect(
            ManagementRequest.querySupported.encoded
                == annotatedHex("02 00 02 00 00 00 00 00  // command_id 0x00020002, reserved 0"))
        #expect(
            ManagementRequest.queryCreatable.encoded
                == annotatedHex("03 00 02 00 00 00 00 00  // command_id 0x00020003"))
        #expect(
            ManagementRequest.assign(vf: DBDF(Self.vf4), typeID: 1205, placement: 20, channelOffset: 512).encoded
                == annotatedHex(
                    """
                    04 00 02 00 00 00 00 00  // ASSIGN_VGPU_TYPE
                    04 18 00 00 00 00 00 00  // dbdf 0000:18:00.4 (domain 63:32, bus 15:8, devfn 7:0)
                    b5 04 00 00              // vgpuTypeId 1205
                    00 00 00 00              // swizzId
                    14 00                    // placementId 20
                    00 00 00 00 00 00        // padding to 24
                    00 02 00 00 00 00 00 00  // vgpuctl_assign_ext: channelOffset 512, reserved
                    """))
        #expect(
            ManagementRequest.assign(vf: DBDF(PCIAddress("0001:41:02.3")!), typeID: 1205).encoded
                == annotatedHex(
                    """
                    04 00 02 00 00 00 00 00
                    13 41 00 00 01 00 00 00  // dbdf 0001:41:02.3
                    b5 04 00 00 00 00 00 00
                    ff ff 00 00 00 00 00 00  // placementId 0xFFFF: the firmware chooses; no extension
                    """))
        #expect(
            ManagementRequest.deassign(vf: DBDF(PCIAddress("0000:18:00.5")!)).encoded == header(5)
                + annotatedHex("05 18 00 00 00 00 00 00"))
        #expect(ManagementRequest.queryProperties(typeID: 1205).encoded == header(6) + annotatedHex("b5 04 00 00"))
        #expect(
            ManagementRequest.queryAssigned(vf: DBDF(Self.vf4)).encoded == header(7)
                + annotatedHex("04 18 00 00 00 00 00 00"))
        let add = ManagementRequest.addType(Records.h100xm20C, buildVersion: "570.144").encoded
        #expect(add.count == 8 + 136 + Self.h100xm20CNVKV.count)
        #expect(
            Array(add.prefix(16)) == header(1)
                + annotatedHex("35 37 30 2e 31 34 34 00  // gsp_build_version \"570.144\""))
        #expect(add[16..<136].allSatisfy { $0 == 0 })
        #expect(
            Array(add[136..<144])
                == annotatedHex("00 00 00 00 01 00 00 00  // discard_vgpu_types 0, padding, vgpu_info_count 1"))
        #expect(Array(add[144...]) == Self.h100xm20CNVKV)
    }

    @Test func requestsDecodeAsTheFirmwareReadsThem() throws {
        let all: [ManagementRequest] = [
            .addType(Records.h100xm1g10C, buildVersion: "570.144"), .querySupported, .queryCreatable,
            .assign(vf: DBDF(Self.vf4), typeID: 1205, placement: 20, channelOffset: 512),
            .assign(vf: DBDF(Self.vf4), typeID: 7),
            .deassign(vf: DBDF(Self.vf4)), .queryProperties(typeID: 1), .queryAssigned(vf: DBDF(Self.vf4)),
        ]
        for r in all { #expect(try ManagementRequest(decoding: r.encoded) == r) }
        #expect(NovaCoreTable.all.map(\.id) == Array(0x0002_0001...0x0002_0007))
        var bad = ManagementRequest.querySupported.encoded
        bad.put32(4, 1)
        #expect(throws: ManagementRequest.DecodeError.self) { try ManagementRequest(decoding: bad) }
        #expect(throws: ManagementRequest.DecodeError.self) {
            try ManagementRequest(decoding: ManagementRequest.queryProperties(typeID: 1).encoded + [0])
        }
        #expect(throws: ManagementRequest.DecodeError.self) {
            try ManagementRequest(decoding: annotatedHex("08 00 02 00 00 00 00 00"))
        }
    }

    @Test func replies() throws {
        let c = NovaCoreTable.self
        func decode(_ b: [UInt8], _ cmd: NovaCoreTable.Command) throws -> ManagementReply {
            try ManagementReply(decoding: b, length: b.count, room: cmd.replyRoom, for: cmd)
        }
        let done = annotatedHex("04 00 02 00 00 00 00 00  // echoed ASSIGN_VGPU_TYPE header, nothing after")
        #expect(ManagementReply.done.encoded(for: c.assign) == done)
        #expect(try decode(done, c.assign) == .done)
        let ids = annotatedHex(
            """
            02 00 02 00 00 00 00 00  // QUERY_SUPPORTED_VGPU_TYPES
            b5 04 00 00 b6 04 00 00  // 1205, 1206
            """)
        #expect(ManagementReply.typeIDs([1205, 1206]).encoded(for: c.querySupported) == ids)
        #expect(try decode(ids, c.querySupported) == .typeIDs([1205, 1206]))
        #expect(
            try decode(ids + [0, 0, 0, 0, 9, 0, 0, 0], c.querySupported) == .typeIDs([1205, 1206]), "a 0 ends the list")
        let props = annotatedHex("06 00 02 00 00 00 00 00") + Self.h100xm20CNVKV
        #expect(ManagementReply.properties(Records.h100xm20C).encoded(for: c.queryProperties) == props)
        #expect(try decode(props, c.queryProperties) == .properties(Records.h100xm20C))
        let none = annotatedHex(
            """
            07 00 02 00 00 00 00 00  // QUERY_ASSIGNED_VF_VGPU_TYPE
            00 00 00 00 00 00 00 00  // vgpuTypeId 0: no type; swizzId
            00 00 00 00              // placementId, padding
            """)
        #expect(ManagementReply.assigned(nil).encoded(for: c.queryAssigned) == none)
        #expect(try decode(none, c.queryAssigned) == .assigned(nil))
        let a = AssignedVF(
            typeID: 1205, placement: 20, channelOffset: 512, channels: 512, framebufferOffsetMiB: 20320,
            framebufferMiB: 20320)
        let withExt = annotatedHex(
            """
            07 00 02 00 00 00 00 00
            b5 04 00 00 00 00 00 00  // vgpuTypeId 1205, swizzId 0
            14 00 00 00              // placementId 20, padding
            00 02 00 00 00 02 00 00  // vgpuctl_assigned_vf_ext: channelOffset 512, channelCount 512
            60 4f 00 00 60 4f 00 00  //   framebufferOffsetMiB 20320, framebufferMiB 20320
            """)
        #expect(ManagementReply.assigned(a).encoded(for: c.queryAssigned) == withExt)
        #expect(try decode(withExt, c.queryAssigned) == .assigned(a))
        #expect(
            try decode(Array(withExt.prefix(20)), c.queryAssigned)
                == .assigned(AssignedVF(typeID: 1205, placement: 20)),
            "the public 12-byte output alone")
        var e = a
        e.copyEngineMask = 0x30
        e.bar1Address = 0x3001_0000_0000
        e.bar1Size = 4 << 30
        let withEngines =
            withExt
            + annotatedHex(
                """
                30 00 00 00 00 00 00 00  // vgpuctl_assigned_vf_engines: copyEngineMask 0x30 (engines 4, 5), reserved
                00 00 00 00 01 30 00 00  //   bar1Address 0x300100000000
                00 00 00 00 01 00 00 00  //   bar1Size 4 GiB
                """)
        #expect(ManagementReply.assigned(e).encoded(for: c.queryAssigned) == withEngines)
        #expect(try decode(withEngines, c.queryAssigned) == .assigned(e))
        var reserved = withEngines
        reserved[8 + 32] = 1
        #expect(throws: BadReply.malformed("vgpuctl_assigned_vf_engines.reserved is 0x1, not 0")) {
            try decode(reserved, c.queryAssigned)
        }
    }

    @Test func badReplies() {
        let c = NovaCoreTable.queryAssigned
        func fails(_ b: [UInt8], length: Int? = nil, _ expected: BadReply) {
            do {
                _ = try ManagementReply(decoding: b, length: length ?? b.count, room: c.replyRoom, for: c)
                Issue.record("decoded \(hexString(b))")
            } catch {
                #expect(error == expected)
            }
        }
        fails([7, 0, 2, 0], .short(length: 4, needed: 8))
        fails(annotatedHex("07 00 02 00 00 00 00 00 b5 04"), .short(length: 10, needed: 20))
        fails(
            annotatedHex("06 00 02 00 00 00 00 00") + [UInt8](repeating: 0, count: 12),
            .wrongCommand(expected: 0x20007, got: 0x20006))
        fails(annotatedHex("07 00 02 00 01 00 00 00") + [UInt8](repeating: 0, count: 12), .reservedNotZero(1))
        fails(
            annotatedHex("07 00 02 00 00 00 00 00") + [UInt8](repeating: 0, count: 20), length: 99,
            .oversized(length: 99, room: 60))
        fails(annotatedHex("07 00 02 00 00 00 00 00") + [UInt8](repeating: 0, count: 14), .trailing(2, expected: 16))
        #expect(
            BadReply.wrongCommand(expected: 0x20007, got: 0x20006).description
                == "the reply is for command 0x20006 (QUERY_VGPU_PROPERTIES), not 0x20007 (QUERY_ASSIGNED_VF_VGPU_TYPE)"
        )
        #expect(BadReply.oversized(length: 99, room: 36).description.contains("more than the 36 bytes of room"))
    }

    @Test func stubControlParameters() throws {
        let request = ManagementRequest.queryProperties(typeID: 1205).encoded
        var p = FwctlOverRM(scope: .configuration, request: request, room: 16)
        let zeros = { (n: Int) in [UInt8](repeating: 0, count: n) }
        #expect(
            p.encoded == annotatedHex(
                """
                00 00 00 00  // scope FWCTL_RPC_CONFIGURATION
                0c 00 00 00  // inLen 12
                10 00 00 00  // outLen: room 16
                00 00 00 00  // status
                """) + zeros(128)
                + annotatedHex(
                    """
                    06 00 02 00 00 00 00 00 b5 04 00 00  // at 0x90: the request
                    00 00 00 00  // the rest of the room
                    """))
        let control = RMControl(
            hClient: 0xC7C0_0100, hObject: 0xC7C0_0102, cmd: NovaCoreTable.stubControl, params: p.encoded)
        #expect(
            Array(control.encoded.prefix(24))
                == annotatedHex(
                    """
                    00 01 c0 c7  // hClient
                    02 01 c0 c7  // hObject: the subdevice
                    01 ff 80 20  // cmd NV2080_CTRL_CMD_VGPUCTL_FWCTL_RPC = 0x2080FF01
                    00 00 00 00  // status
                    a0 00 00 00  // paramsSize 160 = 144 + 16
                    00 00 00 00  // flags
                    """))
        // The firmware answers in place...
        var firm = try FwctlOverRM(decoding: p.encoded, asRequest: true)
        #expect(firm.request == request && firm.room == 16)
        firm.answer(reply: annotatedHex("06 00 02 00 00 00 00 00 aa bb"))
        #expect(
            Array(firm.encoded.prefix(16))
                == annotatedHex("00 00 00 00 0c 00 00 00 0a 00 00 00 00 00 00 00  // outLen 10, NV_OK"))
        #expect(Array(firm.encoded.suffix(16)) == annotatedHex("06 00 02 00 00 00 00 00 aa bb 00 00 00 00 00 00"))
        #expect(
            try FwctlOverRM(decoding: firm.encoded, asRequest: false).reply(room: 16)
                == RawReply(bytes: annotatedHex("06 00 02 00 00 00 00 00 aa bb"), length: 10))
        // ... or refuses: the status and the reason, no reply.
        firm.refuse(status: NVStatus.errObjectNotFound, reason: "no")
        #expect(
            firm.encoded == annotatedHex(
                """
                00 00 00 00 0c 00 00 00
                00 00 00 00              // outLen 0
                57 00 00 00              // status NV_ERR_OBJECT_NOT_FOUND
                6e 6f                    // reason "no", NUL padded to 128
                """) + zeros(126 + 16))
        p = try FwctlOverRM(decoding: firm.encoded, asRequest: false)
        #expect(p.refusalText == "no" && p.status == NVStatus.errObjectNotFound)
        #expect(throws: FwctlOverRM.DecodeError.self) { try FwctlOverRM(decoding: [0, 0], asRequest: true) }
        #expect(throws: FwctlOverRM.DecodeError.self) {
            try FwctlOverRM(decoding: annotatedHex("00 00 00 00 ff 00 00 00") + zeros(136), asRequest: true)
        }
    }

    @Test func novaCoreInfo() {
        let i = NovaCoreInfo(
            vendorID: 0x10DE, deviceID: 0x2330, subsystemVendorID: 0x10DE, subsystemID: 0x16C1, vgpu: true,
            totalVFs: 32,
            firmwareVersion: "570.144")
        let bytes = annotatedHex(
            """
            de 10 30 23 de 10 c1 16  // vendor 10de, device 2330, subsystem 10de:16c1
            01 00 00 00              // flags: vGPU (SR-IOV mode)
            20 00 00 00              // total_vfs 32
            35 37 30 2e 31 34 34 00 00 00 00 00 00 00 00 00  // "570.144"
            """)
        #expect(i.encoded == bytes)
        #expect(NovaCoreInfo(decoding: bytes) == i)
        #expect(NovaCoreInfo(decoding: Array(bytes.prefix(31))) == nil)
    }

    @Test func dbdf() {
        #expect(DBDF(PCIAddress("0000:18:00.4")!).rawValue == 0x1804)
        #expect(DBDF(PCIAddress("abcd:ff:1f.7")!).rawValue == 0xABCD_0000_FFFF)
        #expect(DBDF(rawValue: 0xABCD_0000_FFFF).address == PCIAddress("abcd:ff:1f.7"))
        #expect(DBDF(rawValue: 0x1_0000).address == nil, "bits 31:16 are not part of a dbdf")
    }

    /// The fuzz target's seeds (Tests/Fuzz/corpus/control-reply) are the replies they are named after.
    @Test func fuzzSeedsAreRealReplies() throws {
        let dir = TestSupport.repositoryDirectory + "/Tests/Fuzz/corpus/control-reply/"
        func seed(_ name: String) throws -> [UInt8] { try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir + name))) }
        func reply(_ name: String, _ c: NovaCoreTable.Command) throws -> ManagementReply {
            let b = try seed(name)
            return try ManagementReply(decoding: b, length: b.count, room: max(b.count, c.replyRoom), for: c)
        }
        #expect(try reply("supported", NovaCoreTable.querySupported) == .typeIDs([1205, 1206, 1208]))
        #expect(try reply("creatable-empty", NovaCoreTable.queryCreatable) == .typeIDs([]))
        #expect(try reply("done-assign", NovaCoreTable.assign) == .done)
        #expect(try reply("properties-h100xm-20c", NovaCoreTable.queryProperties) == .properties(Records.h100xm20C))
        #expect(try reply("properties-h100xm-1-10c", NovaCoreTable.queryProperties) == .properties(Records.h100xm1g10C))
        #expect(try reply("assigned-none", NovaCoreTable.queryAssigned) == .assigned(nil))
        #expect(
            try reply("assigned-ext", NovaCoreTable.queryAssigned)
                == .assigned(
                    AssignedVF(
                        typeID: 1205, placement: 20, channelOffset: 512, channels: 512, framebufferOffsetMiB: 20320,
                        framebufferMiB: 20320)))
        #expect(NovaCoreInfo(decoding: try seed("nova-core-info"))?.totalVFs == 32)
        let ok = try FwctlOverRM(decoding: try seed("stub-params-reply"), asRequest: false)
        let props = try seed("properties-h100xm-20c")
        #expect(ok.status == NVStatus.ok && ok.reply(room: Int(ok.outLength)).bytes == props)
        let no = try FwctlOverRM(decoding: try seed("stub-params-refusal"), asRequest: false)
        #expect(no.status == NVStatus.errObjectNotFound && no.refusalText == "vGPU type 4242 was never added")
    }
}
