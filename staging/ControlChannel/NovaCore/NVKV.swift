import GSPMessaging

/// NVKV, NVIDIA's key/value encoding in little-endian `NvU64` words (`nvkv.h` of the GMC API),
/// used by QUERY_VGPU_PROPERTIES's reply (and, in vgpuctl, by ADD_VGPU_TYPE's record).
///
/// Each instruction word: key in bits 15:0, index in 27:16, opcode in 31:28, and a 32-bit
/// immediate or count in 63:32. IMM32 holds one 32-bit value itself; SEQ32/SEQ64 give `count`
/// sequential keys, their values packed after the word (two 32-bit values per word, or one
/// 64-bit value per word); ARRAY8/32/64 give one key with `count` values packed after it. Values
/// are padded with zeros to the next word.
public enum NVKV {
    /// Bits 31:28 of an instruction.
    public enum Opcode: UInt8, Sendable {
        case imm32 = 0
        case seq32 = 1
        case seq64 = 2
        case array8 = 3
        case array32 = 4
        case array64 = 5
    }

    /// A decoded value.
    public enum Value: Sendable, Equatable {
        case u32(UInt32)
        case u64(UInt64)
        case bytes([UInt8])
        case u32s([UInt32])
        case u64s([UInt64])
    }

    /// One key with its index and value.
    public struct Entry: Sendable, Equatable {
        public var key: UInt16
        public var index: UInt16
        public var value: Value

        public init(key: UInt16, index: UInt16, value: Value) {
            self.key = key
            self.index = index
            self.value = value
        }
    }

    /// Why a stream does not decode.
    public struct DecodeError: Error, Sendable, Equatable, CustomStringConvertible {
        /// Byte offset of the offending instruction.
        public var offset: Int
        public var reason: String
        public var description: String { "NVKV at byte \(offset): \(reason)" }
    }

    /// Builds a stream.
    public struct Encoder: Sendable {
        public private(set) var words: [UInt64] = []
        public init() {}

        static func instruction(_ op: Opcode, key: UInt16, index: UInt16, high: UInt32) -> UInt64 {
            UInt64(key) | UInt64(index & 0xFFF) << 16 | UInt64(op.rawValue) << 28 | UInt64(high) << 32
        }

        /// IMM32: one 32-bit value in the instruction.
        public mutating func u32(_ key: UInt16, _ value: UInt32, index: UInt16 = 0) {
            words.append(Self.instruction(.imm32, key: key, index: index, high: value))
        }

        /// SEQ64 with one key: one 64-bit value after the instruction.
        public mutating func u64(_ key: UInt16, _ value: UInt64, index: UInt16 = 0) {
            words.append(Self.instruction(.seq64, key: key, index: index, high: 1))
            words.append(value)
        }

        /// ARRAY8 holding the string and its terminating NUL (as `nvkvSetString8`).
        public mutating func string(_ key: UInt16, _ value: String, index: UInt16 = 0) {
            bytes(key, Array(value.utf8) + [0], index: index)
        }

        /// ARRAY8.
        public mutating func bytes(_ key: UInt16, _ value: [UInt8], index: UInt16 = 0) {
            words.append(Self.instruction(.array8, key: key, index: index, high: UInt32(value.count)))
            var i = 0
            while i < value.count {
                var w: UInt64 = 0
                for j in 0..<8 where i + j < value.count { w |= UInt64(value[i + j]) << (8 * j) }
                words.append(w)
                i += 8
            }
        }

        /// ARRAY32.
        public mutating func u32s(_ key: UInt16, _ value: [UInt32], index: UInt16 = 0) {
            words.append(Self.instruction(.array32, key: key, index: index, high: UInt32(value.count)))
            var i = 0
            while i < value.count {
                let lo = UInt64(value[i])
                let hi = i + 1 < value.count ? UInt64(value[i + 1]) : 0
                words.append(lo | hi << 32)
                i += 2
            }
        }

        /// The stream as little-endian bytes.
        public var encoded: [UInt8] {
            var out = [UInt8](repeating: 0, count: words.count * 8)
            for (i, w) in words.enumerated() { out.put64(8 * i, w) }
            return out
        }
    }

    /// Decodes a whole stream (a multiple of 8 bytes). Zero words decode as key 0 with an
    /// IMM32 value 0 (the zero padding a fixed-size reply buffer leaves).
    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> [Entry] {
        guard bytes.count % 8 == 0 else {
            throw DecodeError(
                offset: bytes.count - bytes.count % 8,
                reason: "\(bytes.count) bytes is not a whole number of 64-bit words")
        }
        let words = bytes.count / 8
        func word(_ i: Int) -> UInt64 { bytes.le64(8 * i) }
        var out: [Entry] = []
        var i = 0
        while i < words {
            let w = word(i)
            let at = 8 * i
            let key = UInt16(truncatingIfNeeded: w)
            let index = UInt16(truncatingIfNeeded: w >> 16) & 0xFFF
            let high = UInt32(truncatingIfNeeded: w >> 32)
            i += 1
            guard let op = Opcode(rawValue: UInt8(truncatingIfNeeded: w >> 28) & 0xF) else {
                throw DecodeError(
                    offset: at,
                    reason:
                        "unknown opcode \(UInt8(truncatingIfNeeded: w >> 28) & 0xF) for key 0x\(String(key, radix: 16))"
                )
            }
            let count = Int(high)
            /// Words the values take after the instruction.
            let valueWords: Int
            switch op {
            case .imm32: valueWords = 0
            case .seq32, .array32: valueWords = (count + 1) / 2
            case .seq64, .array64: valueWords = count
            case .array8: valueWords = (count + 7) / 8
            }
            guard valueWords <= words - i else {
                throw DecodeError(
                    offset: at,
                    reason:
                        "key 0x\(String(key, radix: 16)) announces \(count) values (\(valueWords) words) but \(words - i) words remain"
                )
            }
            if op == .seq32 || op == .seq64 {
                guard Int(key) + count - 1 <= Int(UInt16.max) else {
                    throw DecodeError(
                        offset: at,
                        reason: "a sequence of \(count) keys from 0x\(String(key, radix: 16)) runs past key 0xffff")
                }
            }
            switch op {
            case .imm32:
                out.append(Entry(key: key, index: index, value: .u32(high)))
            case .seq32:
                for k in 0..<count {
                    let v = word(i + k / 2) >> (k % 2 == 0 ? 0 : 32)
                    out.append(Entry(key: key &+ UInt16(k), index: index, value: .u32(UInt32(truncatingIfNeeded: v))))
                }
            case .seq64:
                for k in 0..<count { out.append(Entry(key: key &+ UInt16(k), index: index, value: .u64(word(i + k)))) }
            case .array8:
                out.append(Entry(key: key, index: index, value: .bytes(Array(bytes[(8 * i)..<(8 * i + count)]))))
            case .array32:
                out.append(
                    Entry(
                        key: key, index: index,
                        value: .u32s(
                            (0..<count).map { k in
                                UInt32(truncatingIfNeeded: word(i + k / 2) >> (k % 2 == 0 ? 0 : 32))
                            })))
            case .array64:
                out.append(Entry(key: key, index: index, value: .u64s((0..<count).map { word(i + $0) })))
            }
            i += valueWords
        }
        return out
    }
}

extension NVKV.Value {
    /// The value as a u32 (IMM32, or one SEQ32 key).
    public var u32: UInt32? {
        if case .u32(let v) = self { return v }
        return nil
    }

    /// The value as a u64 (SEQ64; an IMM32 widens).
    public var u64: UInt64? {
        switch self {
        case .u64(let v): v
        case .u32(let v): UInt64(v)
        default: nil
        }
    }

    /// An ARRAY8 read as a NUL-terminated string.
    public var string: String? {
        guard case .bytes(let b) = self else { return nil }
        let text = b.prefix { $0 != 0 }
        return String(decoding: text, as: UTF8.self)
    }

    /// An ARRAY32.
    public var u32s: [UInt32]? {
        if case .u32s(let v) = self { return v }
        return nil
    }
}
