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
                i += 1
                index += 1
            }
            // Whole words, 64 bytes at a time in SIMD registers.
            var v0 = SIMD2<UInt64>()
            var v1 = SIMD2<UInt64>()
            var v2 = SIMD2<UInt64>()
            var v3 = SIMD2<UInt64>()
            while i + 64 <= n {
                v0 ^= base.loadUnaligned(fromByteOffset: i, as: SIMD2<UInt64>.self)
                v1 ^= base.loadUnaligned(fromByteOffset: i + 16, as: SIMD2<UInt64>.self)
                v2 ^= base.loadUnaligned(fromByteOffset: i + 32, as: SIMD2<UInt64>.self)
                v3 ^= base.loadUnaligned(fromByteOffset: i + 48, as: SIMD2<UInt64>.self)
                i += 64
            }
            let v = v0 ^ v1 ^ v2 ^ v3
            var a = v[0] ^ v[1]
            while i + 8 <= n {
                a ^= base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                i += 8
            }
            acc ^= UInt64(littleEndian: a)
            while i < n {
                acc ^= UInt64(base.load(fromByteOffset: i, as: UInt8.self)) << UInt64((index & 7) * 8)
                i += 1
                index += 1
            }
        }

        /// Copies `count` bytes from `src` to `dst` and feeds them, in one pass (the copy into or
        /// out of the ring and the checksum of the same bytes).
        @inlinable
        public mutating func copy(from src: UnsafeRawPointer, to dst: UnsafeMutableRawPointer, count n: Int) {
            guard n > 0 else { return }
            guard index & 7 == 0 else {
                dst.copyMemory(from: src, byteCount: n)
                add(UnsafeRawBufferPointer(start: src, count: n))
                return
            }
            var i = 0
            var v0 = SIMD2<UInt64>()
            var v1 = SIMD2<UInt64>()
            var v2 = SIMD2<UInt64>()
            var v3 = SIMD2<UInt64>()
            while i + 64 <= n {
                let w0 = src.loadUnaligned(fromByteOffset: i, as: SIMD2<UInt64>.self)
                let w1 = src.loadUnaligned(fromByteOffset: i + 16, as: SIMD2<UInt64>.self)
                let w2 = src.loadUnaligned(fromByteOffset: i + 32, as: SIMD2<UInt64>.self)
                let w3 = src.loadUnaligned(fromByteOffset: i + 48, as: SIMD2<UInt64>.self)
                dst.storeBytes(of: w0, toByteOffset: i, as: SIMD2<UInt64>.self)
                dst.storeBytes(of: w1, toByteOffset: i + 16, as: SIMD2<UInt64>.self)
                dst.storeBytes(of: w2, toByteOffset: i + 32, as: SIMD2<UInt64>.self)
                dst.storeBytes(of: w3, toByteOffset: i + 48, as: SIMD2<UInt64>.self)
                v0 ^= w0
                v1 ^= w1
                v2 ^= w2
                v3 ^= w3
                i += 64
            }
            let v = v0 ^ v1 ^ v2 ^ v3
            var a = v[0] ^ v[1]
            while i + 8 <= n {
                let w = src.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                dst.storeBytes(of: w, toByteOffset: i, as: UInt64.self)
                a ^= w
                i += 8
            }
            acc ^= UInt64(littleEndian: a)
            if i < n {
                dst.advanced(by: i).copyMemory(from: src.advanced(by: i), byteCount: n - i)
                add(UnsafeRawBufferPointer(start: src.advanced(by: i), count: n - i))
            }
        }
    }

    /// The checksum of `bytes`.
    public static func compute(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { compute([$0]) }
    }
}
