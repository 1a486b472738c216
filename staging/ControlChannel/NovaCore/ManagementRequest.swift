import GSPMessaging

/// A vGPU management request, encoded once for every transport: `struct fwctl_rpc_nova_core`
/// (command id, reserved 0), then the command's parameters as ``NovaCoreTable`` lays them out.
public enum ManagementRequest: Sendable, Equatable {
    /// ADD_VGPU_TYPE: one type record (`discard` asks the firmware to forget earlier types).
    case addType(VGPUTypeRecord, buildVersion: String, discard: Bool = false)
    case querySupported
    case queryCreatable
    /// ASSIGN_VGPU_TYPE. `placement` 0xFFFF and a nil `channelOffset` let the firmware choose.
    case assign(
        vf: DBDF, typeID: UInt32, placement: UInt16 = NovaCoreTable.placementFirmwareChooses,
        channelOffset: UInt32? = nil)
    case deassign(vf: DBDF)
    case queryProperties(typeID: UInt32)
    case queryAssigned(vf: DBDF)

    public var command: NovaCoreTable.Command {
        switch self {
        case .addType: NovaCoreTable.addType
        case .querySupported: NovaCoreTable.querySupported
        case .queryCreatable: NovaCoreTable.queryCreatable
        case .assign: NovaCoreTable.assign
        case .deassign: NovaCoreTable.deassign
        case .queryProperties: NovaCoreTable.queryProperties
        case .queryAssigned: NovaCoreTable.queryAssigned
        }
    }

    /// The request bytes (header included).
    public var encoded: [UInt8] {
        let h = NovaCoreTable.headerSize
        var b = [UInt8](repeating: 0, count: h)
        b.put32(0, command.id)
        switch self {
        case .querySupported, .queryCreatable:
            break
        case .addType(let record, let version, let discard):
            var p = [UInt8](repeating: 0, count: NovaCoreTable.Size.addTypePrefix)
            p.putBytes(0, Array(version.utf8), limit: NovaCoreTable.buildVersionLength - 1)
            p[NovaCoreTable.buildVersionLength] = discard ? 1 : 0
            p.put32(NovaCoreTable.buildVersionLength + 4, 1)
            b += p + record.nvkv
        case .assign(let vf, let typeID, let placement, let channelOffset):
            var p = [UInt8](
                repeating: 0,
                count: NovaCoreTable.Size.assignParams + (channelOffset == nil ? 0 : NovaCoreTable.Size.assignExtension)
            )
            p.put64(0, vf.rawValue)
            p.put32(8, typeID)
            p.put32(12, 0)
            p.put16(16, placement)
            if let channelOffset { p.put32(24, channelOffset) }
            b += p
        case .deassign(let vf), .queryAssigned(let vf):
            var p = [UInt8](repeating: 0, count: NovaCoreTable.Size.vfParams)
            p.put64(0, vf.rawValue)
            b += p
        case .queryProperties(let typeID):
            var p = [UInt8](repeating: 0, count: NovaCoreTable.Size.propertiesParams)
            p.put32(0, typeID)
            b += p
        }
        return b
    }

    /// Why the firmware side cannot read a request, with the RM status it answers.
    public struct DecodeError: Error, Sendable, Equatable, CustomStringConvertible {
        public var status: UInt32
        public var reason: String
        public var description: String { reason }
    }

    /// Reads a request (the firmware side: gsp-stub).
    public init(decoding b: [UInt8]) throws(DecodeError) {
        let h = NovaCoreTable.headerSize
        guard b.count >= h else {
            throw DecodeError(
                status: NVStatus.errInvalidParamStruct,
                reason: "request of \(b.count) bytes is shorter than the 8-byte fwctl_rpc_nova_core header")
        }
        guard b.le32(4) == 0 else {
            throw DecodeError(
                status: NVStatus.errInvalidArgument,
                reason: "fwctl_rpc_nova_core.reserved is \(hex0x(b.le32(4))), not 0")
        }
        guard let command = NovaCoreTable.command(b.le32(0)) else {
            throw DecodeError(
                status: NVStatus.errNotSupported,
                reason: "command id \(hex0x(b.le32(0))) is not a vGPU management command")
        }
        let p = Array(b[h...])
        func size(_ allowed: Int...) throws(DecodeError) {
            guard allowed.contains(p.count) else {
                throw DecodeError(
                    status: NVStatus.errInvalidParamStruct,
                    reason:
                        "\(command.name) carries \(p.count) parameter bytes, expected \(allowed.map(String.init).joined(separator: " or "))"
                )
            }
        }
        switch command.id {
        case NovaCoreTable.addType.id:
            let n = NovaCoreTable.Size.addTypePrefix
            guard p.count >= n else {
                throw DecodeError(
                    status: NVStatus.errInvalidParamStruct,
                    reason: "ADD_VGPU_TYPE carries \(p.count) bytes, less than its \(n)-byte prefix")
            }
            guard p.le32(NovaCoreTable.buildVersionLength + 4) == 1 else {
                throw DecodeError(
                    status: NVStatus.errInvalidArgument,
                    reason:
                        "ADD_VGPU_TYPE vgpu_info_count is \(p.le32(NovaCoreTable.buildVersionLength + 4)); one record per request"
                )
            }
            let record: VGPUTypeRecord
            do { record = try VGPUTypeRecord(nvkv: Array(p[n...])) } catch {
                throw DecodeError(status: NVStatus.errInvalidData, reason: "ADD_VGPU_TYPE record: \(error)")
            }
            self = .addType(
                record, buildVersion: p.cString(0, NovaCoreTable.buildVersionLength),
                discard: p[NovaCoreTable.buildVersionLength] != 0)
        case NovaCoreTable.querySupported.id:
            try size(0)
            self = .querySupported
        case NovaCoreTable.queryCreatable.id:
            try size(0)
            self = .queryCreatable
        case NovaCoreTable.assign.id:
            try size(
                NovaCoreTable.Size.assignParams, NovaCoreTable.Size.assignParams + NovaCoreTable.Size.assignExtension)
            let ext = p.count > NovaCoreTable.Size.assignParams
            let channel = ext ? p.le32(24) : NovaCoreTable.channelFirmwareChooses
            self = .assign(
                vf: DBDF(rawValue: p.le64(0)), typeID: p.le32(8), placement: p.le16(16),
                channelOffset: channel == NovaCoreTable.channelFirmwareChooses ? nil : channel)
        case NovaCoreTable.deassign.id:
            try size(NovaCoreTable.Size.vfParams)
            self = .deassign(vf: DBDF(rawValue: p.le64(0)))
        case NovaCoreTable.queryProperties.id:
            try size(NovaCoreTable.Size.propertiesParams)
            self = .queryProperties(typeID: p.le32(0))
        default:
            try size(NovaCoreTable.Size.vfParams)
            self = .queryAssigned(vf: DBDF(rawValue: p.le64(0)))
        }
    }
}
