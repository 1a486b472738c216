import GSPMessaging
import HostKit

/// The seven vGPU management commands over a control channel: each request encoded once
/// (``ManagementRequest``), carried by the transport, its reply checked and decoded
/// (``ManagementReply``). This is what stage 3's upstream backend builds VF typing on.
public final class VGPUManagementClient {
    public let transport: any ControlTransport
    /// The fwctl scope of every RPC (configuration unless a debug scope was asked for).
    public let scope: FwctlScope
    /// The firmware version ADD_VGPU_TYPE names (`gsp_build_version`).
    public var buildVersion = GSPFirmwareTable.current.version

    public init(transport: any ControlTransport, scope: FwctlScope = .configuration) {
        self.transport = transport
        self.scope = scope
    }

    deinit { transport.close() }

    /// Releases the channel (RM objects, the file; a stub started for it).
    public func close() { transport.close() }

    /// `FWCTL_INFO`.
    public func info() throws(ControlChannelError) -> FwctlDeviceInfo { try transport.info() }

    /// Checks that the device is nova-core's (`FWCTL_INFO`'s device type).
    public func requireNovaCore() throws(ControlChannelError) {
        let i = try info()
        guard i.deviceType == .novaCore else { throw .notNovaCore(device: transport.name, i.deviceType) }
    }

    /// Sends `request` and decodes its reply.
    public func call(_ request: ManagementRequest) throws(ControlChannelError) -> ManagementReply {
        let command = request.command
        let raw = try transport.rpc(scope: scope, request: request.encoded, room: command.replyRoom)
        do {
            return try ManagementReply(decoding: raw.bytes, length: raw.length, room: command.replyRoom, for: command)
        } catch {
            throw .badReply(command: command.name, error)
        }
    }

    /// ADD_VGPU_TYPE.
    public func addType(_ record: VGPUTypeRecord) throws(ControlChannelError) {
        try expectDone(call(.addType(record, buildVersion: buildVersion)), NovaCoreTable.addType)
    }

    /// QUERY_SUPPORTED_VGPU_TYPES.
    public func querySupported() throws(ControlChannelError) -> [UInt32] {
        try typeIDs(call(.querySupported), NovaCoreTable.querySupported)
    }

    /// QUERY_CREATABLE_VGPU_TYPES: the types an assignment to a free VF would take now.
    public func queryCreatable() throws(ControlChannelError) -> [UInt32] {
        try typeIDs(call(.queryCreatable), NovaCoreTable.queryCreatable)
    }

    /// ASSIGN_VGPU_TYPE of `typeID` to the VF at `vf`; nil placement or channel offset: the
    /// firmware chooses.
    public func assign(vf: PCIAddress, typeID: UInt32, placement: UInt16? = nil, channelOffset: UInt32? = nil)
        throws(ControlChannelError)
    {
        if let p = placement, p == NovaCoreTable.placementFirmwareChooses {
            throw .invalidRequest("placement \(p) is reserved (it means 'the firmware chooses')")
        }
        try expectDone(
            call(
                .assign(
                    vf: DBDF(vf), typeID: typeID, placement: placement ?? NovaCoreTable.placementFirmwareChooses,
                    channelOffset: channelOffset)), NovaCoreTable.assign)
    }

    /// DEASSIGN_VGPU_TYPE of the VF at `vf`.
    public func deassign(vf: PCIAddress) throws(ControlChannelError) {
        try expectDone(call(.deassign(vf: DBDF(vf))), NovaCoreTable.deassign)
    }

    /// QUERY_VGPU_PROPERTIES.
    public func queryProperties(_ typeID: UInt32) throws(ControlChannelError) -> VGPUTypeRecord {
        guard case .properties(let r) = try call(.queryProperties(typeID: typeID)) else {
            throw .badReply(command: NovaCoreTable.queryProperties.name, .malformed("not a property list"))
        }
        guard r.id == typeID else {
            throw .badReply(
                command: NovaCoreTable.queryProperties.name,
                .malformed("asked for type \(typeID), got the properties of \(r.id)"))
        }
        return r
    }

    /// QUERY_ASSIGNED_VF_VGPU_TYPE: what the VF at `vf` carries, nil when nothing.
    public func queryAssigned(vf: PCIAddress) throws(ControlChannelError) -> AssignedVF? {
        guard case .assigned(let a) = try call(.queryAssigned(vf: DBDF(vf))) else {
            throw .badReply(command: NovaCoreTable.queryAssigned.name, .malformed("not an assignment"))
        }
        return a
    }

    private func expectDone(_ r: ManagementReply, _ c: NovaCoreTable.Command) throws(ControlChannelError) {
        guard r == .done else { throw .badReply(command: c.name, .malformed("unexpected output")) }
    }

    private func typeIDs(_ r: ManagementReply, _ c: NovaCoreTable.Command) throws(ControlChannelError) -> [UInt32] {
        guard case .typeIDs(let ids) = r else { throw .badReply(command: c.name, .malformed("not a type id list")) }
        return ids
    }
}
