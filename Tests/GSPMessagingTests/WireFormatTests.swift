import CGSPMessaging
import GSPMessaging
import TestSupport
import Testing

/// Byte-exact encodings, compared with annotated hex written by hand from the reference
/// (shared/reference/gsp-messaging.md) and the r570.144 struct definitions.
@Suite struct WireFormatTests {
    @Test func txHeaderIsTheStandardGeometry() {
        let expected = annotatedHex(
            """
            00: 00 00 00 00   // version 0
            04: 00 00 04 00   // size = sizeof(Msgq) = 0x40000
            08: 00 10 00 00   // msgSize 0x1000
            0c: 3f 00 00 00   // msgCount 0x3f
            10: 00 00 00 00   // writePtr 0
            14: 01 00 00 00   // flags 1
            18: 20 00 00 00   // rxHdrOff = offsetof(Msgq, rx) = 0x20
            1c: 00 10 00 00   // entryOff 0x1000
            """)
        #expect(MsgqTxHeader().encoded == expected)
        #expect(GspMemLayout.cpuQueueOffset == 0x1000)
        #expect(GspMemLayout.gspQueueOffset == 0x41000)
        #expect(GspMemLayout.gspMemSize == 0x81000)
        #expect(GspMemLayout.pteCount == 0x81)
    }

    /// A NOP element, seqNum 5, RPC sequence 7, payload 01..08. Checksum by hand: XOR of the
    /// little-endian words, checkSum field 0:
    ///   hi32: 0x5 ^ 0x43505256 ^ 0xffffffff ^ 0x08070605 = 0xb4a8aba9
    ///   lo32: 0x1 ^ 0x03000000 ^ 0x28 ^ 0xffffffff ^ 0x7 ^ 0x04030201 = 0xf8fcfdd0
    ///   fold: 0xb4a8aba9 ^ 0xf8fcfdd0 = 0x4c545679
    static let nopElement = annotatedHex(
        """
        00: 00000000 00000000 00000000 00000000   // authTagBuffer[16]
        10: 00000000 00000000 00000000 00000000   // aadBuffer[16]
        20: 79 56 54 4c   // checkSum 0x4c545679
        24: 05 00 00 00   // seqNum 5
        28: 01 00 00 00   // elemCount 1 = ceil((0x50 + 8) / 0x1000)
        2c: 00 00 00 00   // padding
        30: 00 00 00 03   // header_version 0x03000000
        34: 56 52 50 43   // signature "VRPC" = 0x43505256
        38: 28 00 00 00   // length = 0x20 header + 8 payload
        3c: 00 00 00 00   // function NOP (0)
        40: ff ff ff ff   // rpc_result: pending
        44: ff ff ff ff   // rpc_result_private: pending
        48: 07 00 00 00   // sequence 7
        4c: 00 00 00 00   // spare
        50: 01 02 03 04 05 06 07 08   // payload
        """)

    @Test func elementHeaderRPCHeaderAndChecksum() throws {
        let (cpu, _, m) = try endpointPair()
        cpu.txSeqNum = 5
        try cpu.send(function: .nop, payload: [1, 2, 3, 4, 5, 6, 7, 8], sequence: 7, until: .now + .seconds(1))
        let written = m.bytes(GspMemLayout.cpuQueueOffset + GspMemLayout.entryOffset, Self.nopElement.count)
        #expect(written == Self.nopElement)
        #expect(GSPChecksum.compute(Self.nopElement) == 0)
        var zeroed = Self.nopElement
        zeroed.replaceSubrange(0x20..<0x24, with: [0, 0, 0, 0])
        #expect(GSPChecksum.compute(zeroed) == 0x4c54_5679)
        // The write pointer moved one page, published.
        #expect(m.u32(GspMemLayout.cpuQueueOffset + GspMemLayout.writePtrOffset).pointee == 1)
    }

    @Test func checksumRotationMatchesWordXOR() {
        // 5 bytes: word 0x0000000504030201, folded 0x05 ^ 0x04030201.
        #expect(GSPChecksum.compute([1, 2, 3, 4, 5]) == 0x0403_0204)
        #expect(GSPChecksum.compute([UInt8]()) == 0)
        // Split anywhere: the same as one piece.
        let bytes = (0..<37).map { UInt8(truncatingIfNeeded: $0 &* 29 &+ 3) }
        let whole = GSPChecksum.compute(bytes)
        for cut in [1, 3, 8, 13, 36] {
            let a = Array(bytes[..<cut])
            let b = Array(bytes[cut...])
            let split = a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in GSPChecksum.compute([pa, pb]) } }
            #expect(split == whole, "cut at \(cut)")
        }
    }

    @Test func registryTableWithSriovMode() throws {
        let t = RegistryTable([RegistryEntry("RMSetSriovMode", 1), RegistryEntry("RMDevidCheckIgnore", 1)])
        let expected = annotatedHex(
            """
            00: 4a 00 00 00   // size 0x4a: 8 header + 2 x 16 entries + 15 + 19 name bytes
            04: 02 00 00 00   // numEntries 2
            08: 28 00 00 00   // [0] nameOffset 0x28 (after the entries)
            0c: 01 00 00 00   // [0] type DWORD, 3 bytes padding
            10: 01 00 00 00   // [0] data 1
            14: 04 00 00 00   // [0] length sizeof(NvU32)
            18: 37 00 00 00   // [1] nameOffset 0x37
            1c: 01 00 00 00   // [1] type DWORD
            20: 01 00 00 00   // [1] data 1
            24: 04 00 00 00   // [1] length 4
            28: 52 4d 53 65 74 53 72 69 6f 76 4d 6f 64 65 00   // "RMSetSriovMode\\0"
            37: 52 4d 44 65 76 69 64 43 68 65 63 6b 49 67 6e 6f 72 65 00   // "RMDevidCheckIgnore\\0"
            """)
        #expect(t.encoded == expected)
        #expect(try RegistryTable(decoding: expected) == t)
        let standard = RegistryTable.standard(vgpu: true)
        #expect(
            standard.entries.map(\.key) == [
                "RMSecBusResetEnable", "RMForcePcieConfigSave", "RMDevidCheckIgnore", "RMSetSriovMode",
            ])
        #expect(standard["RMSetSriovMode"] == 1)
        #expect(RegistryTable.standard(vgpu: false)["RMSetSriovMode"] == nil)
    }

    @Test func registryTableRejectsABadSize() {
        var b = RegistryTable.standard(vgpu: true).encoded
        b.put32(0, UInt32(b.count + 4))
        #expect(throws: VGPUPayloadError.self) { try RegistryTable(decoding: b) }
    }

    @Test func vfInfoLayout() {
        let v = GSPVFInfo(
            totalVFs: 32, firstVFOffset: 4, firstVFBar0Address: 0xc100_0000,
            firstVFBar1Address: 0x3000_0000_0000, firstVFBar2Address: 0x3020_0000_0000,
            b64bitBar0: false, b64bitBar1: true, b64bitBar2: true)
        let expected = annotatedHex(
            """
            00: 20 00 00 00                 // totalVFs 32
            04: 04 00 00 00                 // firstVFOffset 4
            08: 00 00 00 c1 00 00 00 00     // FirstVFBar0Address 0xc1000000
            10: 00 00 00 00 00 30 00 00     // FirstVFBar1Address 0x300000000000
            18: 00 00 00 00 20 30 00 00     // FirstVFBar2Address 0x302000000000
            20: 00 01 01                    // b64bitBar0/1/2
            23: 00 00 00 00 00              // padding to 0x28
            """)
        #expect(v.encoded == expected)
        #expect(GSPVFInfo(decoding: expected) == v)
        var info = GSPSystemInfo()
        info.vfInfo = v
        #expect(Array(info.encoded[0x358..<0x380]) == expected)
    }

    @Test func sequencerBufferCountsWordsInCmdIndex() throws {
        let seq = RunCPUSequencer(commands: [.regWrite(addr: 0x110040, value: 1), .delayUs(5), .coreResume])
        let b = seq.encoded
        #expect(b.le32(0) == 6)  // bufferSizeDWord
        #expect(b.le32(4) == 6)  // cmdIndex: 3 + 2 + 1 words
        #expect(
            Array(b[40...])
                == annotatedHex(
                    """
                    00 00 00 00  40 00 11 00  01 00 00 00   // REG_WRITE 0x110040 = 1
                    03 00 00 00  05 00 00 00                // DELAY_US 5
                    08 00 00 00                             // CORE_RESUME
                    """))
        #expect(try RunCPUSequencer(decoding: b).commands == seq.commands)
        var bad = b
        bad.put32(40 + 20, 9)  // CORE_RESUME -> unknown opcode 9
        #expect(throws: VGPUPayloadError.self) { try RunCPUSequencer(decoding: bad) }
    }

    /// The Swift offset tables agree with the C mirrors (whose sizes and offsets the C
    /// compiler checks against the hand-computed numbers).
    @Test func swiftOffsetsMatchTheCMirrors() {
        #expect(MemoryLayout<GSP_MSG_QUEUE_ELEMENT>.size == GspMemLayout.elementHeadersSize)
        #expect(
            MemoryLayout<GSP_MSG_QUEUE_ELEMENT>.offset(of: \GSP_MSG_QUEUE_ELEMENT.checkSum)
                == ElementHeader.checkSumOffset)
        #expect(
            MemoryLayout<GSP_MSG_QUEUE_ELEMENT>.offset(of: \GSP_MSG_QUEUE_ELEMENT.seqNum) == ElementHeader.seqNumOffset)
        #expect(
            MemoryLayout<GSP_MSG_QUEUE_ELEMENT>.offset(of: \GSP_MSG_QUEUE_ELEMENT.elemCount)
                == ElementHeader.elemCountOffset)
        #expect(MemoryLayout<rpc_message_header_v03_00>.size == RPCHeader.size)
        #expect(MemoryLayout<msgqTxHeader>.size == MsgqTxHeader.size)
        #expect(MemoryLayout<GspSystemInfo>.size == GSPSystemInfo.size)
        #expect(MemoryLayout<GspSystemInfo>.offset(of: \GspSystemInfo.gspVFInfo) == GSPSystemInfo.Offset.gspVFInfo)
        #expect(MemoryLayout<GspSystemInfo>.offset(of: \GspSystemInfo.PCIDeviceID) == GSPSystemInfo.Offset.pciDeviceID)
        #expect(
            MemoryLayout<GspSystemInfo>.offset(of: \GspSystemInfo.hostPageSize) == GSPSystemInfo.Offset.hostPageSize)
        #expect(MemoryLayout<GSP_VF_INFO>.size == GSPVFInfo.size)
        #expect(MemoryLayout<GspStaticConfigInfo>.size == GSPStaticInfo.size)
        #expect(
            MemoryLayout<GspStaticConfigInfo>.offset(of: \GspStaticConfigInfo.sriovCaps)
                == GSPStaticInfo.Offset.sriovCaps)
        #expect(
            MemoryLayout<GspStaticConfigInfo>.offset(of: \GspStaticConfigInfo.fb_length)
                == GSPStaticInfo.Offset.fbLength)
        #expect(
            MemoryLayout<GspStaticConfigInfo>.offset(of: \GspStaticConfigInfo.gpuNameString)
                == GSPStaticInfo.Offset.gpuNameString)
        #expect(
            MemoryLayout<GspStaticConfigInfo>.offset(of: \GspStaticConfigInfo.hInternalClient)
                == GSPStaticInfo.Offset.hInternalClient)
        #expect(MemoryLayout<GspFwWprMeta>.size == WPRMeta.size)
        #expect(MemoryLayout<rpc_os_error_log_v17_00>.size == OSErrorLog.size)
        #expect(MemoryLayout<rpc_gsp_rm_control_v03_00>.size == RMControl.headerSize)
        #expect(MemoryLayout<rpc_gsp_rm_alloc_v03_00>.size == RMAlloc.headerSize)
        #expect(MemoryLayout<rpc_free_v03_00>.size == RMFree.size)
        #expect(MemoryLayout<MESSAGE_QUEUE_INIT_ARGUMENTS>.size == MessageQueueInitArguments.size)
        #expect(MemoryLayout<VGPUCTL_GSP_SIM_PAGE>.size == GspMemLayout.pageSize)
    }

    @Test func functionTableNamesTheReferenceNumbers() {
        let t = GSPFirmwareTable.r570_144
        let reference: [(UInt32, String)] = [
            (0, "NOP"), (2, "ALLOC_ROOT"), (3, "ALLOC_DEVICE"), (4, "ALLOC_MEMORY"), (9, "ALLOC_OBJECT"), (10, "FREE"),
            (11, "LOG"), (65, "GET_GSP_STATIC_INFO"), (71, "CONTINUATION_RECORD"), (72, "GSP_SET_SYSTEM_INFO"),
            (73, "SET_REGISTRY"), (74, "GSP_INIT_POST_OBJGPU"), (76, "GSP_RM_CONTROL"), (103, "GSP_RM_ALLOC"),
            (204, "RM_API_CONTROL"), (0x1001, "GSP_INIT_DONE"), (0x1002, "GSP_RUN_CPU_SEQUENCER"),
            (0x1003, "POST_EVENT"), (0x1004, "RC_TRIGGERED"), (0x1005, "MMU_FAULT_QUEUED"), (0x1006, "OS_ERROR_LOG"),
            (0x100C, "UCODE_LIBOS_PRINT"), (0x100D, "VGPU_GSP_PLUGIN_TRIGGERED"), (0x1010, "VGPU_CONFIG"),
            (0x101C, "GSP_LOCKDOWN_NOTICE"),
        ]
        for (n, name) in reference {
            #expect(t.name(of: RPCFunction(n)) == name)
            #expect(t.function(named: name) == RPCFunction(n))
        }
        #expect(t.version == "570.144")
        #expect(t.functionNames.count == 227)
        #expect(t.name(of: RPCFunction(227)) == "UNKNOWN(0xe3)")
    }
}
