/// The geometry of `GspMem`, the memory the CPU and GSP-RM share (nova-core `gsp/cmdq.rs`,
/// open-gpu-kernel-modules `GspMsgQueuesInit`), and of vgpuctl's shared file, which appends
/// one simulation page (doorbells and simulated registers) after it.
///
/// ```
/// 0x00000  PTE page: 0x81 little-endian u64 entries, the DMA address of each GspMem page
/// 0x01000  cpuq  (Msgq, 0x40000 bytes): tx header, rx header, ring of 0x3f pages at +0x1000
/// 0x41000  gspq  (Msgq, 0x40000 bytes): same layout
/// 0x81000  vgpuctl simulation page (VGPUCTL_GSP_SIM_PAGE), not part of GspMem
/// ```
public enum GspMemLayout {
    /// `GSP_PAGE_SIZE`, also each queue's `msgSize`.
    public static let pageSize = 0x1000
    /// Pages in each ring (`MSGQ_NUM_PAGES`).
    public static let msgCount = 0x3f
    /// The PTE page.
    public static let pteOffset = 0
    /// The CPU queue (`cmdQueueOffset` in `MESSAGE_QUEUE_INIT_ARGUMENTS`).
    public static let cpuQueueOffset = 0x1000
    /// The GSP queue (`statQueueOffset`).
    public static let gspQueueOffset = cpuQueueOffset + queueSize
    /// `sizeof(Msgq)`: header page plus ring.
    public static let queueSize = pageSize + msgCount * pageSize
    /// Within a queue: the tx header.
    public static let txHeaderOffset = 0
    /// Within a queue: the rx header (`rxHdrOff` = `offsetof(Msgq, rx)` = 0x20).
    public static let rxHeaderOffset = 0x20
    /// Within a queue: the ring (`entryOff`).
    public static let entryOffset = pageSize
    /// Within a tx header: `writePtr`.
    public static let writePtrOffset = 0x10
    /// Within an r000_00 tx header: where vgpuctl keeps the write pointer. The development
    /// bindings' `msgqTxHeader` has no `writePtr` (0x10 holds `entryOff`) and publish no other
    /// place for it, so this is **vgpuctl's** choice: the first `reserved` word (0x14).
    public static let gmcWritePtrOffset = 0x14
    /// Size of GspMem.
    public static let gspMemSize = cpuQueueOffset + 2 * queueSize
    /// `pageTableEntryCount`: one PTE per GspMem page.
    public static let pteCount = gspMemSize / pageSize
    /// The ring's size in bytes.
    public static let ringSize = msgCount * pageSize

    /// `GSP_MSG_QUEUE_ELEMENT_SIZE_MAX`: 16 pages, headers included.
    public static let maxElementSize = 16 * pageSize
    /// Element header plus RPC header.
    public static let elementHeadersSize = ElementHeader.size + RPCHeader.size
    /// The most payload one element carries; more continues in `CONTINUATION_RECORD`s.
    public static let maxPayloadPerElement = maxElementSize - elementHeadersSize

    /// Where vgpuctl's simulation page starts in the shared file.
    public static let simPageOffset = gspMemSize
    /// Size of the shared file.
    public static let sharedFileSize = gspMemSize + pageSize

    /// Pages an element with `payload` bytes of RPC payload occupies (`elemCount`).
    public static func elementPages(payload: Int) -> Int {
        (elementHeadersSize + payload + pageSize - 1) / pageSize
    }

    /// Offset of the queue that `side` writes.
    public static func queueOffset(writtenBy side: GSPSide) -> Int {
        side == .cpu ? cpuQueueOffset : gspQueueOffset
    }
}

/// Which end of the queues a party is: the driver (CPU) or the firmware (GSP).
public enum GSPSide: String, Sendable, Codable {
    case cpu, gsp

    /// The other end.
    public var peer: GSPSide { self == .cpu ? .gsp : .cpu }
}

/// `msgqTxHeader`: the producer's header of a queue.
public struct MsgqTxHeader: Equatable, Sendable {
    public static let size = 0x20
    public var version: UInt32 = 0
    public var size: UInt32 = UInt32(GspMemLayout.queueSize)
    public var msgSize: UInt32 = UInt32(GspMemLayout.pageSize)
    public var msgCount: UInt32 = UInt32(GspMemLayout.msgCount)
    public var writePtr: UInt32 = 0
    public var flags: UInt32 = 1
    public var rxHdrOff: UInt32 = UInt32(GspMemLayout.rxHeaderOffset)
    public var entryOff: UInt32 = UInt32(GspMemLayout.entryOffset)

    /// The header a queue starts with (nova-core `MsgqTxHeader::new`).
    public init() {}

    /// Decodes 32 bytes of `bytes` at `offset`.
    public init(decoding bytes: [UInt8], at offset: Int = 0) {
        version = bytes.le32(offset)
        size = bytes.le32(offset + 4)
        msgSize = bytes.le32(offset + 8)
        msgCount = bytes.le32(offset + 12)
        writePtr = bytes.le32(offset + 16)
        flags = bytes.le32(offset + 20)
        rxHdrOff = bytes.le32(offset + 24)
        entryOff = bytes.le32(offset + 28)
    }

    /// The 32 encoded bytes.
    public var encoded: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        for (i, v) in [version, size, msgSize, msgCount, writePtr, flags, rxHdrOff, entryOff].enumerated() {
            b.put32(4 * i, v)
        }
        return b
    }

    /// Whether every field is zero (a queue whose owner has not initialised it yet).
    public var isZero: Bool { encoded.allSatisfy { $0 == 0 } }

    /// The first field that differs from the standard geometry: (offset in the header, name,
    /// value, expected), or nil. `writePtr` is only checked to be in range.
    public var geometryProblem: (offset: Int, field: String, value: UInt32, expected: String)? {
        let std = MsgqTxHeader()
        let checks: [(Int, String, UInt32, UInt32)] = [
            (0, "version", version, std.version), (4, "size", size, std.size),
            (8, "msgSize", msgSize, std.msgSize), (12, "msgCount", msgCount, std.msgCount),
            (24, "rxHdrOff", rxHdrOff, std.rxHdrOff), (28, "entryOff", entryOff, std.entryOff),
        ]
        for (off, name, v, e) in checks where v != e {
            return (off, name, v, hex0x(e))
        }
        if writePtr >= msgCount {
            return (16, "writePtr", writePtr, "below msgCount \(hex0x(msgCount))")
        }
        return nil
    }
}
