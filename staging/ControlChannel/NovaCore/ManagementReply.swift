import GSPMessaging

/// What QUERY_ASSIGNED_VF_VGPU_TYPE reports about one VF.
public struct AssignedVF: Sendable, Equatable, Codable {
    public var typeID: UInt32
    public var swizzID: UInt32
    /// First placement unit (reserved upstream; gsp-stub reports it).
    public var placement: UInt16
    /// vgpuctl's extension: the channel range and frame buffer, when the firmware sends them.
    public var channelOffset: UInt32?
    public var channels: UInt32?
    public var framebufferOffsetMiB: UInt32?
    public var framebufferMiB: UInt32?
    /// vgpuctl's engine report (after the extension, only with it): the copy engines serving
    /// the VF (bit i: engine i) and the VF's BAR1 window (bus address and size in bytes).
    public var copyEngineMask: UInt32?
    public var bar1Address: UInt64?
    public var bar1Size: UInt64?

    public init(
        typeID: UInt32, swizzID: UInt32 = 0, placement: UInt16, channelOffset: UInt32? = nil, channels: UInt32? = nil,
        framebufferOffsetMiB: UInt32? = nil, framebufferMiB: UInt32? = nil, copyEngineMask: UInt32? = nil,
        bar1Address: UInt64? = nil, bar1Size: UInt64? = nil
    ) {
        self.typeID = typeID
        self.swizzID = swizzID
        self.placement = placement
        self.channelOffset = channelOffset
        self.channels = channels
        self.framebufferOffsetMiB = framebufferOffsetMiB
        self.framebufferMiB = framebufferMiB
        self.copyEngineMask = copyEngineMask
        self.bar1Address = bar1Address
        self.bar1Size = bar1Size
    }

    /// Whether the reply carries the engine report (it needs the extension before it).
    var hasEngines: Bool { channelOffset != nil && copyEngineMask != nil }
}

/// A reply to a management request, encoded once: the echoed `fwctl_rpc_nova_core`, then the
/// command's output.
public enum ManagementReply: Sendable, Equatable {
    /// ADD, ASSIGN, DEASSIGN: nothing after the header.
    case done
    /// QUERY_SUPPORTED / QUERY_CREATABLE.
    case typeIDs([UInt32])
    /// QUERY_VGPU_PROPERTIES.
    case properties(VGPUTypeRecord)
    /// QUERY_ASSIGNED_VF_VGPU_TYPE: nil when the VF has no type (type id 0).
    case assigned(AssignedVF?)

    /// The reply bytes for `command` (the firmware side).
    public func encoded(for command: NovaCoreTable.Command) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: NovaCoreTable.headerSize)
        b.put32(0, command.id)
        switch self {
        case .done:
            break
        case .typeIDs(let ids):
            var p = [UInt8](repeating: 0, count: 4 * ids.count)
            for (i, id) in ids.enumerated() { p.put32(4 * i, id) }
            b += p
        case .properties(let record):
            b += record.nvkv
        case .assigned(let a):
            var p = [UInt8](
                repeating: 0,
                count: NovaCoreTable.Size.assignedReply
                    + (a?.channelOffset == nil ? 0 : NovaCoreTable.Size.assignedExtension)
                    + (a?.hasEngines == true ? NovaCoreTable.Size.assignedEngines : 0))
            if let a {
                p.put32(0, a.typeID)
                p.put32(4, a.swizzID)
                p.put16(8, a.placement)
                if let c = a.channelOffset {
                    p.put32(12, c)
                    p.put32(16, a.channels ?? 0)
                    p.put32(20, a.framebufferOffsetMiB ?? 0)
                    p.put32(24, a.framebufferMiB ?? 0)
                }
                if a.hasEngines {
                    p.put32(28, a.copyEngineMask ?? 0)
                    p.put64(36, a.bar1Address ?? 0)
                    p.put64(44, a.bar1Size ?? 0)
                }
            }
            b += p
        }
        return b
    }

    /// Reads the reply to `command`. `bytes` is what arrived (at most `room`); `length` is the
    /// reply's full length as the transport reported it (fwctl's `out_len` after the call).
    public init(decoding bytes: [UInt8], length: Int, room: Int, for command: NovaCoreTable.Command) throws(BadReply) {
        let h = NovaCoreTable.headerSize
        guard length <= room else { throw .oversized(length: length, room: room) }
        guard length <= bytes.count else {
            throw .malformed("the transport reported \(length) reply bytes but delivered \(bytes.count)")
        }
        let b = Array(bytes.prefix(length))
        guard b.count >= h else { throw .short(length: b.count, needed: h) }
        guard b.le32(0) == command.id else { throw .wrongCommand(expected: command.id, got: b.le32(0)) }
        guard b.le32(4) == 0 else { throw .reservedNotZero(b.le32(4)) }
        let p = Array(b[h...])
        switch command.id {
        case NovaCoreTable.addType.id, NovaCoreTable.assign.id, NovaCoreTable.deassign.id:
            guard p.isEmpty else { throw .trailing(p.count, expected: 0) }
            self = .done
        case NovaCoreTable.querySupported.id, NovaCoreTable.queryCreatable.id:
            guard p.count % 4 == 0 else {
                throw .malformed("a type id list of \(p.count) bytes is not a whole number of 32-bit ids")
            }
            guard p.count / 4 <= NovaCoreTable.typeListMax else {
                throw .malformed("\(p.count / 4) type ids, more than the \(NovaCoreTable.typeListMax) GMC API allows")
            }
            var ids: [UInt32] = []
            for i in 0..<(p.count / 4) {
                let id = p.le32(4 * i)
                if id == 0 { break }
                ids.append(id)
            }
            self = .typeIDs(ids)
        case NovaCoreTable.queryProperties.id:
            do { self = .properties(try VGPUTypeRecord(nvkv: p)) } catch { throw .malformed("\(error)") }
        default:
            let n = NovaCoreTable.Size.assignedReply
            let ext = NovaCoreTable.Size.assignedExtension
            let engines = NovaCoreTable.Size.assignedEngines
            guard p.count >= n else { throw .short(length: b.count, needed: h + n) }
            guard p.count == n || p.count == n + ext || p.count == n + ext + engines else {
                throw .trailing(p.count - n, expected: ext)
            }
            let typeID = p.le32(0)
            if typeID == 0 {
                self = .assigned(nil)
            } else if p.count == n {
                self = .assigned(AssignedVF(typeID: typeID, swizzID: p.le32(4), placement: p.le16(8)))
            } else {
                var a = AssignedVF(
                    typeID: typeID, swizzID: p.le32(4), placement: p.le16(8), channelOffset: p.le32(12),
                    channels: p.le32(16), framebufferOffsetMiB: p.le32(20), framebufferMiB: p.le32(24))
                if p.count == n + ext + engines {
                    guard p.le32(32) == 0 else {
                        throw .malformed("vgpuctl_assigned_vf_engines.reserved is \(hex0x(p.le32(32))), not 0")
                    }
                    a.copyEngineMask = p.le32(28)
                    a.bar1Address = p.le64(36)
                    a.bar1Size = p.le64(44)
                }
                self = .assigned(a)
            }
        }
    }
}

/// Why a reply does not decode.
public enum BadReply: Error, Sendable, Equatable, CustomStringConvertible {
    /// Fewer bytes than the header (or the command's fixed output) needs.
    case short(length: Int, needed: Int)
    /// The echoed command id is not the request's.
    case wrongCommand(expected: UInt32, got: UInt32)
    /// `fwctl_rpc_nova_core.reserved` is not 0.
    case reservedNotZero(UInt32)
    /// The reply claims more bytes than the room given for it.
    case oversized(length: Int, room: Int)
    /// Bytes after a fixed output (or an output where none belongs).
    case trailing(Int, expected: Int)
    /// The output does not decode.
    case malformed(String)

    public var description: String {
        switch self {
        case .short(let length, let needed):
            "the reply is \(length) bytes, shorter than the \(needed) it needs"
        case .wrongCommand(let expected, let got):
            "the reply is for command \(hex0x(got))\(NovaCoreTable.command(got).map { " (\($0.name))" } ?? ""), not \(hex0x(expected))\(NovaCoreTable.command(expected).map { " (\($0.name))" } ?? "")"
        case .reservedNotZero(let v):
            "the reply's reserved header word is \(hex0x(v)), not 0"
        case .oversized(let length, let room):
            "the reply claims \(length) bytes, more than the \(room) bytes of room given for it (at most \(NovaCoreTable.maxResponse) are allowed)"
        case .trailing(let n, let expected):
            expected == 0
                ? "the reply carries \(n) bytes after its header where none belong"
                : "the reply carries \(n) extra bytes where \(expected) or none belong"
        case .malformed(let text):
            "the reply does not decode: \(text)"
        }
    }
}
