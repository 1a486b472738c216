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
        var state = State()
        for seg in segments { state.add(seg) }
        return state.value
    }

    /// The checksum of `first` followed by `second` (no allocation: the hot path).
    @inlinable
    public static func compute(_ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer) -> UInt32 {
        var state = State()
        state.add(first)
        state.add(second)
        return state.value
    }

    /// A running checksum over bytes fed in pieces.
    public struct State {
        @usableFromInline var acc: UInt64 = 0
        @usableFromInline var index = 0

        @inlinable public init() {}

        /// The folded 32-bit checksum so far.
        @inlinable public var value: UInt32 { UInt32(truncatingIfNeeded: acc >> 32) ^ UInt32(truncatingIfNeeded: acc) }

        /// Feeds `seg`.
        @inlinable
        public mutating func add(_ seg: UnsafeRawBufferPointer) {
            guard let base = seg.baseAddress, seg.count > 0 else { return }
            var i = 0
            let n = seg.count
            // Bytes until the stream is 8-aligned again.
            while i < n && index & 7 != 0 {
                acc ^= UInt64(base.load(fromByteOffset: i, as: UInt8.self)) << UInt64((index & 7) * 8)
                i += 1; index += 1
            }
            // Whole words, four accumulators at a time (lets the compiler vectorise).
            var a0: UInt64 = 0, a1: UInt64 = 0, a2: UInt64 = 0, a3: UInt64 = 0
            while i + 32 <= n {
                a0 ^= base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                a1 ^= base.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self)
                a2 ^= base.loadUnaligned(fromByteOffset: i + 16, as: UInt64.self)
                a3 ^= base.loadUnaligned(fromByteOffset: i + 24, as: UInt64.self)
                i += 32
            }
            while i + 8 <= n {
                a0 ^= base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                i += 8
            }
            acc ^= UInt64(littleEndian: a0 ^ a1 ^ a2 ^ a3)
            while i < n {
                acc ^= UInt64(base.load(fromByteOffset: i, as: UInt8.self)) << UInt64((index & 7) * 8)
                i += 1; index += 1
            }
        }
    }

    /// The checksum of `bytes`.
    public static func compute(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { compute([$0]) }
    }
}
