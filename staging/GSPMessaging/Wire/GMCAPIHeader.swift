/// `GMCAPI_HEADER` of the development firmware r000_00 (`gsp/fw/r000_00/bindings.rs`): 32
/// bytes in front of every GMC API command and response.
///
/// | offset | field |
/// |---|---|
/// | 0x00 | `command_id` (``GMCCommandTable``) |
/// | 0x04 | `reserved1` |
/// | 0x08 | `sequence` (u64): a response carries its request's |
/// | 0x10 | request: `size` (payload bytes); response: `status` (`NV_STATUS`) |
/// | 0x14 | request: `max_response_size`; response: `size` (payload bytes) |
/// | 0x18 | `reserved2` (u64) |
/// | 0x20 | payload (`data[]`) |
///
/// open-gpu-kernel-modules' own `gmcapi_base.h` orders the words differently (`command`,
/// `size`, `sequence`, then the union): the layout is version specific, which is why it lives
/// in one place.
public struct GMCAPIHeader: Equatable, Sendable {
    public static let size = 0x20

    public var commandID: UInt32
    public var reserved1: UInt32 = 0
    public var sequence: UInt64
    /// Request: `size`; response: `status`.
    public var word0: UInt32
    /// Request: `max_response_size`; response: `size`.
    public var word1: UInt32
    public var reserved2: UInt64 = 0

    /// A request carrying `payloadSize` bytes that accepts a response of up to `maxResponse`.
    public static func request(_ command: UInt32, sequence: UInt64, payloadSize: Int, maxResponse: Int) -> GMCAPIHeader
    {
        GMCAPIHeader(commandID: command, sequence: sequence, word0: UInt32(payloadSize), word1: UInt32(maxResponse))
    }

    /// A response with `status` carrying `payloadSize` bytes.
    public static func response(_ command: UInt32, sequence: UInt64, status: UInt32, payloadSize: Int) -> GMCAPIHeader {
        GMCAPIHeader(commandID: command, sequence: sequence, word0: status, word1: UInt32(payloadSize))
    }

    public init(commandID: UInt32, sequence: UInt64, word0: UInt32, word1: UInt32) {
        self.commandID = commandID
        self.sequence = sequence
        self.word0 = word0
        self.word1 = word1
    }

    /// Decodes 32 bytes of `bytes` at `offset` (the caller checked they are there).
    public init(decoding bytes: [UInt8], at offset: Int = 0) {
        commandID = bytes.le32(offset)
        reserved1 = bytes.le32(offset + 4)
        sequence = UInt64(bytes.le32(offset + 8)) | UInt64(bytes.le32(offset + 12)) << 32
        word0 = bytes.le32(offset + 16)
        word1 = bytes.le32(offset + 20)
        reserved2 = UInt64(bytes.le32(offset + 24)) | UInt64(bytes.le32(offset + 28)) << 32
    }

    /// The 32 encoded bytes.
    public var encoded: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        b.put32(0, commandID)
        b.put32(4, reserved1)
        b.put32(8, UInt32(truncatingIfNeeded: sequence))
        b.put32(12, UInt32(truncatingIfNeeded: sequence >> 32))
        b.put32(16, word0)
        b.put32(20, word1)
        b.put32(24, UInt32(truncatingIfNeeded: reserved2))
        b.put32(28, UInt32(truncatingIfNeeded: reserved2 >> 32))
        return b
    }
}
