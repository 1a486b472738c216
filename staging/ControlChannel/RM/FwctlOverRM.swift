import GSPMessaging

/// The parameters of `NV2080_CTRL_CMD_VGPUCTL_FWCTL_RPC` (``NovaCoreTable/stubControl``,
/// provisional, vgpuctl's): how a fwctl request travels to gsp-stub as a `GSP_RM_CONTROL` on a
/// subdevice, the reply coming back in place.
///
/// ```
/// 0x00 u32 scope        enum fwctl_rpc_scope
/// 0x04 u32 inLen        request bytes at 0x90
/// 0x08 u32 outLen       in: room for the reply; out: the reply's full length (0 on a refusal)
/// 0x0c u32 status       out: NV_STATUS of the management command (NV_OK, or a refusal)
/// 0x10 char reason[128] out: on a refusal, the firmware's reason (NUL-terminated)
/// 0x90 u8  buffer[max(inLen, room)]   in: the request; out: the reply
/// ```
/// Both sides use this one codec: vgpuctl's stub transport and gsp-stub.
public struct FwctlOverRM: Sendable, Equatable {
    public var scope: UInt32
    public var inLength: UInt32
    public var outLength: UInt32
    public var status: UInt32
    /// The refusal reason (empty when none).
    public var reason: String
    public var buffer: [UInt8]

    public static let headerSize = NovaCoreTable.stubControlHeaderSize

    /// The parameters for `request` with `room` bytes for the reply.
    public init(scope: FwctlScope, request: [UInt8], room: Int) {
        self.scope = scope.rawValue
        inLength = UInt32(request.count)
        outLength = UInt32(room)
        status = NVStatus.ok
        reason = ""
        buffer = request + [UInt8](repeating: 0, count: max(0, room - request.count))
    }

    public var encoded: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.headerSize)
        b.put32(0, scope)
        b.put32(4, inLength)
        b.put32(8, outLength)
        b.put32(12, status)
        b.putBytes(16, Array(reason.utf8), limit: NovaCoreTable.stubReasonLength - 1)
        return b + buffer
    }

    /// Why parameters do not decode.
    public struct DecodeError: Error, Sendable, Equatable, CustomStringConvertible {
        public var reason: String
        public var description: String { reason }
    }

    /// Reads parameters; `asRequest` checks the request side (the firmware reading them), else
    /// the reply side (the driver reading the answer).
    public init(decoding b: [UInt8], asRequest: Bool) throws(DecodeError) {
        guard b.count >= Self.headerSize else {
            throw DecodeError(
                reason: "the control carries \(b.count) parameter bytes, fewer than the \(Self.headerSize)-byte header")
        }
        scope = b.le32(0)
        inLength = b.le32(4)
        outLength = b.le32(8)
        status = b.le32(12)
        reason = b.cString(16, NovaCoreTable.stubReasonLength)
        buffer = Array(b[Self.headerSize...])
        if asRequest {
            guard Int(inLength) <= buffer.count, Int(outLength) <= buffer.count else {
                throw DecodeError(
                    reason: "inLen \(inLength) or outLen \(outLength) exceeds the \(buffer.count)-byte buffer")
            }
        }
    }

    /// The request bytes (firmware side).
    public var request: [UInt8] { Array(buffer.prefix(Int(inLength))) }

    /// The room the driver gave for the reply (firmware side, before ``answer``).
    public var room: Int { Int(outLength) }

    /// Writes the answer in place (firmware side): the reply as far as the buffer holds it, its
    /// full length in `outLen`, the status.
    public mutating func answer(status: UInt32 = NVStatus.ok, reply: [UInt8], reportedLength: Int? = nil) {
        self.status = status
        reason = ""
        outLength = UInt32(reportedLength ?? reply.count)
        for i in 0..<buffer.count { buffer[i] = i < reply.count ? reply[i] : 0 }
    }

    /// Writes a refusal in place (firmware side): the status, the reason, no reply.
    public mutating func refuse(status: UInt32, reason text: String) {
        answer(status: status, reply: [])
        reason = String(decoding: Array(text.utf8.prefix(NovaCoreTable.stubReasonLength - 1)), as: UTF8.self)
    }

    /// The reply as the transport hands it on (driver side): the bytes that fit the room the
    /// request gave, and the length the firmware reported.
    public func reply(room: Int) -> RawReply {
        RawReply(bytes: Array(buffer.prefix(min(Int(outLength), room))), length: Int(outLength))
    }

    /// The firmware's reason on a refusal.
    public var refusalText: String? {
        status == NVStatus.ok || reason.isEmpty ? nil : reason
    }
}
