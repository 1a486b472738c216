/// System information for the development firmware r000_00 as NVKV keys (the series author's
/// tree replaces `GspSystemInfo.gspVFInfo` with them): `NVGMC_SI_VF_TOTAL_VFS` (128),
/// `NVGMC_SI_VF_FIRST_VF_OFFSET` (129), `NVGMC_SI_VF_FIRST_BAR0..2_ADDRESS` (0x1050..0x1052).
///
/// Encoded as NVKV little-endian u64 words (key 15:0, index 27:16, opcode 31:28, immediate or
/// count 63:32): IMM32 (opcode 0) for the two counts, one SEQ64 (opcode 2, count 3) for the
/// three BAR addresses, the values one word each after it. Which opcodes the firmware expects
/// for these keys is not published; these are **vgpuctl's** choice. Only the two opcodes used
/// here are decoded (ControlChannel's `NVKV` has the whole encoding).
public struct GMCSystemInfo: Equatable, Sendable {
    public static let keyTotalVFs: UInt16 = 128
    public static let keyFirstVFOffset: UInt16 = 129
    public static let keyFirstBar0Address: UInt16 = 0x1050

    public var totalVFs: UInt32
    public var firstVFOffset: UInt32
    public var firstVFBarAddresses: [UInt64]

    public init(totalVFs: UInt32, firstVFOffset: UInt32, firstVFBarAddresses: [UInt64]) {
        self.totalVFs = totalVFs
        self.firstVFOffset = firstVFOffset
        self.firstVFBarAddresses = firstVFBarAddresses
    }

    /// From the r570.144 `GSP_VF_INFO` of the same PF.
    public init(_ vf: GSPVFInfo) {
        self.init(
            totalVFs: vf.totalVFs, firstVFOffset: vf.firstVFOffset,
            firstVFBarAddresses: [vf.firstVFBar0Address, vf.firstVFBar1Address, vf.firstVFBar2Address])
    }

    static func word(op: UInt64, key: UInt16, high: UInt32) -> UInt64 {
        UInt64(key) | op << 28 | UInt64(high) << 32
    }

    public var encoded: [UInt8] {
        var words = [
            Self.word(op: 0, key: Self.keyTotalVFs, high: totalVFs),
            Self.word(op: 0, key: Self.keyFirstVFOffset, high: firstVFOffset),
            Self.word(op: 2, key: Self.keyFirstBar0Address, high: UInt32(firstVFBarAddresses.count)),
        ]
        words += firstVFBarAddresses
        var b = [UInt8](repeating: 0, count: 8 * words.count)
        for (i, w) in words.enumerated() {
            b.put32(8 * i, UInt32(truncatingIfNeeded: w))
            b.put32(8 * i + 4, UInt32(truncatingIfNeeded: w >> 32))
        }
        return b
    }

    /// Decodes the keys above; an unknown key or opcode, or a short stream, is an error.
    public init(decoding b: [UInt8]) throws(VGPUPayloadError) {
        guard b.count % 8 == 0 else {
            throw VGPUPayloadError(offset: 0, "NVKV system info of \(b.count) bytes is not whole words")
        }
        func word(_ i: Int) -> UInt64 { UInt64(b.le32(8 * i)) | UInt64(b.le32(8 * i + 4)) << 32 }
        var total: UInt32?
        var offset: UInt32?
        var bars: [UInt64] = []
        var i = 0
        while i < b.count / 8 {
            let w = word(i)
            let key = UInt16(truncatingIfNeeded: w)
            let op = (w >> 28) & 0xF
            let high = UInt32(truncatingIfNeeded: w >> 32)
            switch (op, key) {
            case (0, Self.keyTotalVFs): total = high
            case (0, Self.keyFirstVFOffset): offset = high
            case (2, Self.keyFirstBar0Address):
                guard high <= 3, i + Int(high) < b.count / 8 else {
                    throw VGPUPayloadError(
                        offset: 8 * i, "NVKV word \(i): SEQ64 of \(high) BAR addresses runs past the stream or 0x1052")
                }
                bars = (0..<Int(high)).map { word(i + 1 + $0) }
                i += Int(high)
            default:
                throw VGPUPayloadError(
                    offset: 8 * i,
                    "NVKV word \(i): key \(hex0x(UInt32(key))) with opcode \(op) is not a system-info key vgpuctl knows"
                )
            }
            i += 1
        }
        guard let total, let offset else {
            throw VGPUPayloadError(
                offset: 0, "NVKV system info lacks NVGMC_SI_VF_TOTAL_VFS (128) or NVGMC_SI_VF_FIRST_VF_OFFSET (129)")
        }
        self.init(totalVFs: total, firstVFOffset: offset, firstVFBarAddresses: bars)
    }
}
