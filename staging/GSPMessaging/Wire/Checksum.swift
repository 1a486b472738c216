/// The GSP message-queue checksum (`_checkSum32` in open-gpu-kernel-modules'
/// `message_queue_cpu.c`; `calculate_checksum` in nova-core's `cmdq.rs`).
///
/// The element (queue-element header, RPC header and payload, `0x30 + rpc.length` bytes) is
/// read as little-endian `u64` words, zero-padded to a multiple of 8, and XORed together; the
/// 64-bit result is folded to 32 bits as `hi32 ^ lo32`. Equivalently, byte `i` is rotated left
/// by `(i % 8) * 8` bits before the XOR. The sender computes it with `checkSum = 0` and stores
/// it; because `checkSum` is the low half of the fifth word, the checksum of the stored element
/// is then 0, which is what the receiver checks.
public enum GSPChecksum {
    /// The checksum of the concatenation of `segments` (the parts of an element that may wrap
    /// around the end of the ring).
    public static func compute(_ segments: [UnsafeRawBufferPointer]) -> UInt32 {
        var acc: UInt64 = 0
        var index = 0
        for seg in segments where seg.count > 0 {
            var i = 0
            let n = seg.count
            // Bytes until the stream is 8-aligned again.
            while i < n && index % 8 != 0 {
                acc ^= UInt64(seg[i]) << UInt64((index % 8) * 8)
                i += 1; index += 1
            }
            // Whole words.
            if let base = seg.baseAddress {
                while i + 8 <= n {
                    acc ^= UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                    i += 8; index += 8
                }
            }
            while i < n {
                acc ^= UInt64(seg[i]) << UInt64((index % 8) * 8)
                i += 1; index += 1
            }
        }
        return UInt32(truncatingIfNeeded: acc >> 32) ^ UInt32(truncatingIfNeeded: acc)
    }

    /// The checksum of `bytes`.
    public static func compute(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { compute([$0]) }
    }
}
