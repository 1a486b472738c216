import ControlChannel

extension FuzzTargets {
    /// Replies that come back over the control channel (from the kernel's fwctl device or from
    /// the stub): the bytes as the reply to each of the seven management commands, as NVKV and
    /// a vGPU type record, as the stub control's parameters, and as nova-core's FWCTL_INFO data.
    static func controlReply(_ bytes: [UInt8]) {
        for command in NovaCoreTable.all {
            let room = max(command.replyRoom, bytes.count)
            guard let reply = try? ManagementReply(decoding: bytes, length: bytes.count, room: room, for: command)
            else { continue }
            switch reply {
            case .typeIDs(let ids):
                precondition(ids.count <= NovaCoreTable.typeListMax && !ids.contains(0), "type id list \(ids)")
            case .properties(let r):
                // What decodes re-encodes to the same record.
                precondition((try? VGPUTypeRecord(nvkv: r.nvkv)) == r, "record does not round-trip: \(r)")
            case .assigned(let a):
                precondition(a.map { $0.typeID != 0 } ?? true)
            case .done:
                precondition(bytes.count == NovaCoreTable.headerSize)
            }
        }
        // A reply claiming more than its room is refused, whatever it holds.
        if bytes.count >= NovaCoreTable.headerSize {
            precondition(
                (try? ManagementReply(
                    decoding: bytes, length: bytes.count + 1, room: bytes.count, for: NovaCoreTable.querySupported))
                    == nil)
        }
        if let entries = try? NVKV.decode(bytes) { precondition(entries.count <= bytes.count / 8 * 2 + 1) }
        _ = try? VGPUTypeRecord(nvkv: bytes)
        if let p = try? FwctlOverRM(decoding: bytes, asRequest: false) {
            let r = p.reply(room: Int(p.outLength))
            precondition(r.bytes.count <= p.buffer.count && r.length == Int(p.outLength))
            _ = p.refusalText
        }
        _ = try? FwctlOverRM(decoding: bytes, asRequest: true)
        _ = try? ManagementRequest(decoding: bytes)
        _ = NovaCoreInfo(decoding: bytes)
    }
}
