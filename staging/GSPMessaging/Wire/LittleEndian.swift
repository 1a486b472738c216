/// Little-endian field access on byte arrays, for the wire structures (GSP-RM is little-endian
/// on every platform it runs on). Reads and writes are bounds-checked by the callers, which
/// check a structure's size once before touching its fields.
extension Array where Element == UInt8 {
    /// The byte at `offset`.
    @inlinable public func le8(_ offset: Int) -> UInt8 { self[offset] }

    /// The little-endian `UInt16` at `offset`.
    @inlinable public func le16(_ offset: Int) -> UInt16 {
        UInt16(self[offset]) | UInt16(self[offset + 1]) << 8
    }

    /// The little-endian `UInt32` at `offset`.
    @inlinable public func le32(_ offset: Int) -> UInt32 {
        UInt32(self[offset]) | UInt32(self[offset + 1]) << 8 | UInt32(self[offset + 2]) << 16 | UInt32(self[offset + 3])
            << 24
    }

    /// The little-endian `UInt64` at `offset`.
    @inlinable public func le64(_ offset: Int) -> UInt64 {
        UInt64(le32(offset)) | UInt64(le32(offset + 4)) << 32
    }

    /// Stores `value` at `offset`.
    @inlinable public mutating func put8(_ offset: Int, _ value: UInt8) { self[offset] = value }

    /// Stores `value` little-endian at `offset`.
    @inlinable public mutating func put16(_ offset: Int, _ value: UInt16) {
        self[offset] = UInt8(truncatingIfNeeded: value)
        self[offset + 1] = UInt8(truncatingIfNeeded: value >> 8)
    }

    /// Stores `value` little-endian at `offset`.
    @inlinable public mutating func put32(_ offset: Int, _ value: UInt32) {
        for i in 0..<4 { self[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(i))) }
    }

    /// Stores `value` little-endian at `offset`.
    @inlinable public mutating func put64(_ offset: Int, _ value: UInt64) {
        for i in 0..<8 { self[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
    }

    /// Copies `bytes` to `offset`, truncated to `limit` bytes when given.
    @inlinable public mutating func putBytes(_ offset: Int, _ bytes: [UInt8], limit: Int? = nil) {
        let n = Swift.min(bytes.count, limit ?? bytes.count)
        for i in 0..<n { self[offset + i] = bytes[i] }
    }

    /// The NUL-terminated string in `offset..<offset+count` (UTF-8, invalid bytes replaced).
    public func cString(_ offset: Int, _ count: Int) -> String {
        let end = Swift.min(offset + count, self.count)
        var bytes = Array(self[offset..<end])
        if let nul = bytes.firstIndex(of: 0) { bytes.removeSubrange(nul...) }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Lower-case hex with a `0x` prefix: `0x41000`.
@inlinable public func hex0x<T: BinaryInteger>(_ value: T) -> String { "0x" + String(value, radix: 16) }
