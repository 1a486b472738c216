import GSPMessaging
import HostKit

/// The control channel to a gsp-stub playing the development firmware r000_00: vgpuctl plays
/// nova-core's part as the vGPU series' author's tree does it, carrying each management
/// command as a GMC API command over the live queues instead of an RM control:
///
/// 1. the checks fwctl and nova-core make (``FwctlKernelRules``), as on the r570.144 path;
/// 2. the request's command (either published id set) becomes `GMCAPI_CMD_*` 0x1000000N
///    (``NovaCoreTable/CommandIDSet/r000_00``), its payload after the 8-byte fwctl header the
///    GMC API payload, `max_response_size` the room after that header;
/// 3. the response's `status` other than NV_OK is the firmware's refusal (no reason travels:
///    the GMC API has no field for one); else the reply is the request's 8-byte header echoed,
///    then the response payload.
///
/// `FWCTL_INFO` is answered from the PF's PCI ids and the system info the boot sent.
public final class GMCStubTransport: ControlTransport {
    public let name: String
    public let gmc: GMCClient
    let pci: PCIDevice?
    let vgpu: Bool
    let totalVFs: UInt32
    private var onClose: (() -> Void)?

    public init(
        gmc: GMCClient, name: String, pci: PCIDevice?, vgpu: Bool, totalVFs: UInt32, onClose: (() -> Void)? = nil
    ) {
        self.gmc = gmc
        self.name = name
        self.pci = pci
        self.vgpu = vgpu
        self.totalVFs = totalVFs
        self.onClose = onClose
    }

    deinit { close() }

    /// The r000_00 command id of a fwctl request's command id (either set), or nil.
    public static func gmcCommand(for id: UInt32) -> (NovaCoreTable.Command, UInt32)? {
        for set in NovaCoreTable.CommandIDSet.allCases {
            for (i, c) in NovaCoreTable.all.enumerated() where set.id(i + 1) == id {
                return (c, NovaCoreTable.CommandIDSet.r000_00.id(i + 1))
            }
        }
        return nil
    }

    public func info() throws(ControlChannelError) -> FwctlDeviceInfo {
        let info = NovaCoreInfo(
            vendorID: pci?.vendorID ?? 0, deviceID: pci?.deviceID ?? 0,
            subsystemVendorID: pci?.subsystemVendorID ?? 0, subsystemID: pci?.subsystemDeviceID ?? 0,
            vgpu: vgpu, totalVFs: totalVFs, firmwareVersion: GSPWireFormat.r000_00.rawValue)
        return FwctlDeviceInfo(deviceType: .novaCore, deviceData: info.encoded)
    }

    public func rpc(scope: FwctlScope, request: [UInt8], room: Int) throws(ControlChannelError) -> RawReply {
        let id = request.count >= 4 ? request.le32(0) : 0
        let mapped = Self.gmcCommand(for: id)
        let command = mapped?.0.name
        if let e = FwctlKernelRules.check(scope: scope, request: request, room: room) {
            throw .call(
                FwctlCallFailure(
                    call: "FWCTL_RPC", device: name, errno: e, command: command, scope: scope,
                    inLength: request.count, outLength: room))
        }
        guard let m = mapped else { throw .invalidRequest("command \(hex0x(id)) has no GMC API id") }
        let (c, gmcID) = m
        let h = NovaCoreTable.headerSize
        let response: GMCClient.Response
        do {
            response = try gmc.call(gmcID, Array(request[h...]), maxResponse: max(0, room - h))
        } catch {
            throw .queue(error)
        }
        guard response.status == NVStatus.ok else {
            throw .refused(command: c.name, status: response.status, detail: nil)
        }
        let reply = Array(request.prefix(h)) + response.payload
        return RawReply(bytes: Array(reply.prefix(room)), length: reply.count)
    }

    public func close() {
        let c = onClose
        onClose = nil
        c?()
    }
}
