/// The r000_00 `msgqTxHeader` (`gsp/fw/r000_00/bindings.rs`): 32 bytes. Unlike r570.144's it
/// starts with two u16 version numbers and has no `writePtr`, `flags` or `rxHdrOff` words:
/// `{u16 versionMajor, u16 versionMinor, u32 size, msgSize, msgCount, entryOff, reserved[3]}`.
public struct GMCMsgqTxHeader: Equatable, Sendable {
    public static let size = 0x20
    public var versionMajor: UInt16
    public var versionMinor: UInt16
    public var queueSize: UInt32 = UInt32(GspMemLayout.queueSize)
    public var msgSize: UInt32 = UInt32(GspMemLayout.pageSize)
    public var msgCount: UInt32 = UInt32(GspMemLayout.msgCount)
    public var entryOff: UInt32 = UInt32(GspMemLayout.entryOffset)

    public init(versionMajor: UInt16, versionMinor: UInt16) {
        self.versionMajor = versionMajor
        self.versionMinor = versionMinor
    }

    public init(decoding bytes: [UInt8], at offset: Int = 0) {
        versionMajor = UInt16(truncatingIfNeeded: bytes.le32(offset))
        versionMinor = UInt16(truncatingIfNeeded: bytes.le32(offset) >> 16)
        queueSize = bytes.le32(offset + 4)
        msgSize = bytes.le32(offset + 8)
        msgCount = bytes.le32(offset + 12)
        entryOff = bytes.le32(offset + 16)
    }

    public var encoded: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        b.put16(0, versionMajor)
        b.put16(2, versionMinor)
        b.put32(4, queueSize)
        b.put32(8, msgSize)
        b.put32(12, msgCount)
        b.put32(16, entryOff)
        return b
    }
}
