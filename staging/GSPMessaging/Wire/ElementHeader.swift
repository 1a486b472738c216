/// `GSP_MSG_QUEUE_ELEMENT` up to the RPC header (r570 layout): 48 bytes.
///
/// | offset | field |
/// |---|---|
/// | 0x00 | `authTagBuffer[16]` (confidential computing; zero here) |
/// | 0x10 | `aadBuffer[16]` (zero here) |
/// | 0x20 | `checkSum` |
/// | 0x24 | `seqNum`: per-queue element counter, from 0 |
/// | 0x28 | `elemCount`: pages this element occupies |
/// | 0x2c | padding |
/// | 0x30 | `rpc_message_header_v` |
public struct ElementHeader: Equatable, Sendable {
    public static let size = 0x30
    public static let checkSumOffset = 0x20
    public static let seqNumOffset = 0x24
    public static let elemCountOffset = 0x28

    public var authTag: [UInt8] = Array(repeating: 0, count: 16)
    public var aad: [UInt8] = Array(repeating: 0, count: 16)
    public var checkSum: UInt32
    public var seqNum: UInt32
    public var elemCount: UInt32

    public init(checkSum: UInt32 = 0, seqNum: UInt32, elemCount: UInt32) {
        self.checkSum = checkSum
        self.seqNum = seqNum
        self.elemCount = elemCount
    }

    /// Decodes the first 48 bytes of `bytes` (which must have at least that many).
    public init(decoding bytes: [UInt8]) {
        authTag = Array(bytes[0..<16])
        aad = Array(bytes[16..<32])
        checkSum = bytes.le32(Self.checkSumOffset)
        seqNum = bytes.le32(Self.seqNumOffset)
        elemCount = bytes.le32(Self.elemCountOffset)
    }

    /// The 48 encoded bytes.
    public var encoded: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        b.putBytes(0, authTag, limit: 16)
        b.putBytes(16, aad, limit: 16)
        b.put32(Self.checkSumOffset, checkSum)
        b.put32(Self.seqNumOffset, seqNum)
        b.put32(Self.elemCountOffset, elemCount)
        return b
    }
}

/// `rpc_message_header_v03_00`: 32 bytes in front of every RPC payload.
public struct RPCHeader: Equatable, Sendable {
    public static let size = 0x20
    /// `header_version` 3.0: major in bits 31:24, minor in 23:16.
    public static let version03_00: UInt32 = 0x0300_0000
    /// `NV_VGPU_MSG_SIGNATURE_VALID`: the bytes "VRPC" read as a little-endian `u32`.
    public static let signatureValid: UInt32 = 0x4350_5256
    /// `NV_VGPU_MSG_RESULT_RPC_PENDING`: what a sender puts in both result fields.
    public static let resultPending: UInt32 = 0xFFFF_FFFF

    public var headerVersion: UInt32 = Self.version03_00
    public var signature: UInt32 = Self.signatureValid
    /// This header plus the payload bytes carried in this element.
    public var length: UInt32
    public var function: RPCFunction
    public var rpcResult: UInt32 = Self.resultPending
    public var rpcResultPrivate: UInt32 = Self.resultPending
    public var sequence: UInt32 = 0
    /// `spare` / `cpuRmGfid`.
    public var spare: UInt32 = 0

    public init(
        length: UInt32, function: RPCFunction, rpcResult: UInt32 = Self.resultPending,
        rpcResultPrivate: UInt32 = Self.resultPending, sequence: UInt32 = 0
    ) {
        self.length = length
        self.function = function
        self.rpcResult = rpcResult
        self.rpcResultPrivate = rpcResultPrivate
        self.sequence = sequence
    }

    /// Decodes 32 bytes of `bytes` starting at `offset`.
    public init(decoding bytes: [UInt8], at offset: Int = 0) {
        headerVersion = bytes.le32(offset)
        signature = bytes.le32(offset + 4)
        length = bytes.le32(offset + 8)
        function = RPCFunction(bytes.le32(offset + 12))
        rpcResult = bytes.le32(offset + 16)
        rpcResultPrivate = bytes.le32(offset + 20)
        sequence = bytes.le32(offset + 24)
        spare = bytes.le32(offset + 28)
    }

    /// The 32 encoded bytes.
    public var encoded: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        b.put32(0, headerVersion)
        b.put32(4, signature)
        b.put32(8, length)
        b.put32(12, function.rawValue)
        b.put32(16, rpcResult)
        b.put32(20, rpcResultPrivate)
        b.put32(24, sequence)
        b.put32(28, spare)
        return b
    }

    /// What is wrong with this header as a receiver sees it, or nil. `element` is the size of
    /// the queue element header in front of it.
    public func problem(maxElementSize: Int = GspMemLayout.maxElementSize) -> String? {
        if signature != Self.signatureValid {
            return "RPC signature is \(hex0x(signature)), not \(hex0x(Self.signatureValid)) (\"VRPC\")"
        }
        if headerVersion != Self.version03_00 {
            return "RPC header_version is \(hex0x(headerVersion)), not \(hex0x(Self.version03_00))"
        }
        if length < UInt32(Self.size) {
            return "RPC length \(length) is shorter than the 32-byte RPC header"
        }
        if Int(length) + ElementHeader.size > maxElementSize {
            return "RPC length \(hex0x(length)) makes the element larger than \(hex0x(maxElementSize)) bytes"
        }
        return nil
    }
}
