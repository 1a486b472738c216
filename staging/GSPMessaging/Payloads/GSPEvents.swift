/// The payload of the `OS_ERROR_LOG` event (`rpc_os_error_log_v17_00`, 0x110 bytes):
/// `exceptType`, `runlistId`, `chid`, `errString[0x100]`, `preemptiveRemovalPreviousXid`.
public struct OSErrorLog: Codable, Equatable, Sendable {
    public static let size = 0x110
    public var exceptType: UInt32
    public var runlistId: UInt32 = 0
    public var chid: UInt32 = 0
    public var message: String
    public var preemptiveRemovalPreviousXid: UInt32 = 0

    public init(exceptType: UInt32, message: String) {
        self.exceptType = exceptType
        self.message = message
    }

    public var encoded: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        b.put32(0, exceptType)
        b.put32(4, runlistId)
        b.put32(8, chid)
        b.putBytes(12, Array(message.utf8), limit: 0xFF)
        b.put32(0x10C, preemptiveRemovalPreviousXid)
        return b
    }

    /// Decodes what is there; a short payload yields what fits.
    public init(decoding b: [UInt8]) {
        var p = b
        if p.count < Self.size { p += [UInt8](repeating: 0, count: Self.size - p.count) }
        exceptType = p.le32(0)
        runlistId = p.le32(4)
        chid = p.le32(8)
        message = p.cString(12, 0x100)
        preemptiveRemovalPreviousXid = p.le32(0x10C)
    }
}

/// The payload of the `UCODE_LIBOS_PRINT` event (`rpc_ucode_libos_print_v1E_08`):
/// `ucodeEngDesc` (class id in bits 31:8, instance in 7:0), `libosPrintBufSize`, then the text.
public struct LibosPrint: Codable, Equatable, Sendable {
    public static let headerSize = 8
    /// The engine class id GSP-RM uses for its own prints here (the PMU's id is 0xf3d722 per
    /// nouveau; GSP's own is not published, so vgpuctl's stub uses 0).
    public var ucodeEngDesc: UInt32
    public var text: String

    public init(ucodeEngDesc: UInt32 = 0, text: String) {
        self.ucodeEngDesc = ucodeEngDesc
        self.text = text
    }

    public var encoded: [UInt8] {
        let t = Array(text.utf8)
        var b = [UInt8](repeating: 0, count: Self.headerSize + t.count)
        b.put32(0, ucodeEngDesc)
        b.put32(4, UInt32(t.count))
        b.putBytes(8, t)
        return b
    }

    public init(decoding b: [UInt8]) {
        guard b.count >= Self.headerSize else {
            ucodeEngDesc = 0
            text = ""
            return
        }
        ucodeEngDesc = b.le32(0)
        let n = min(Int(b.le32(4)), b.count - Self.headerSize)
        text = b.cString(Self.headerSize, n)
    }
}
