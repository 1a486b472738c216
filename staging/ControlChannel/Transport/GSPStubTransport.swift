import GSPMessaging
import HostKit

/// The control channel of a simulated host: the same request bytes carried to gsp-stub over
/// the stage-1 GSP queues, vgpuctl playing the kernel's part (nova-core between fwctl and
/// GSP-RM):
///
/// 1. the checks fwctl and nova-core make (``FwctlKernelRules``) fail with the errno the kernel
///    would return;
/// 2. an RM client, device and subdevice of its own (``RMSession``), allocated on first use and
///    freed on ``close()`` (fwctl frees a user context's firmware resources when its file closes);
/// 3. each request as one `GSP_RM_CONTROL NV2080_CTRL_CMD_VGPUCTL_FWCTL_RPC` on the subdevice
///    (``FwctlOverRM``), the reply in place; a management status other than NV_OK is the
///    firmware's refusal (on a real host nova-core turns it into EIO).
///
/// `FWCTL_INFO` is answered from `GET_GSP_STATIC_INFO` and the PF's PCI ids.
public final class GSPStubTransport: ControlTransport {
    public let name: String
    public let gsp: GSPClient
    public let session: RMSession
    let pci: PCIDevice?
    private var subdevice: RMObject?
    private var onClose: (() -> Void)?

    /// A transport over `gsp` (a client on a booted stub's queues) for the PF described by `pci`;
    /// `onClose` runs after the RM objects are freed (to stop a stub started for this channel).
    public init(gsp: GSPClient, name: String, pci: PCIDevice?, onClose: (() -> Void)? = nil) {
        self.gsp = gsp
        self.name = name
        self.pci = pci
        self.onClose = onClose
        session = RMSession(gsp: gsp)
    }

    deinit { close() }

    public func info() throws(ControlChannelError) -> FwctlDeviceInfo {
        let payload: [UInt8]
        do { payload = try gsp.call(.getGspStaticInfo, [UInt8](repeating: 0, count: GSPStaticInfo.size)).payload } catch
        {
            throw .queue(error)
        }
        let s: GSPStaticInfo
        do { s = try GSPStaticInfo(decoding: payload) } catch { throw .queue(.badPayload(.getGspStaticInfo, error)) }
        let info = NovaCoreInfo(
            vendorID: pci?.vendorID ?? 0, deviceID: pci?.deviceID ?? 0,
            subsystemVendorID: pci?.subsystemVendorID ?? 0, subsystemID: pci?.subsystemDeviceID ?? 0,
            vgpu: s.isVgx && s.sriov.sriovEnabled, totalVFs: s.sriov.totalVFs,
            firmwareVersion: GSPFirmwareTable.current.version)
        return FwctlDeviceInfo(deviceType: .novaCore, deviceData: info.encoded)
    }

    public func rpc(scope: FwctlScope, request: [UInt8], room: Int) throws(ControlChannelError) -> RawReply {
        let command = request.count >= 4 ? NovaCoreTable.command(request.le32(0))?.name : nil
        if let e = FwctlKernelRules.check(scope: scope, request: request, room: room) {
            throw .call(
                FwctlCallFailure(
                    call: "FWCTL_RPC", device: name, errno: e, command: command, scope: scope,
                    inLength: request.count, outLength: room))
        }
        if subdevice == nil { subdevice = try session.subdevice() }
        guard let sub = subdevice else { throw .invalidRequest("no subdevice") }
        let sent = FwctlOverRM(scope: scope, request: request, room: room)
        let back = try session.control(sub, NovaCoreTable.stubControl, params: sent.encoded)
        let params: FwctlOverRM
        do { params = try FwctlOverRM(decoding: back, asRequest: false) } catch {
            throw .badReply(command: command ?? "the request", .malformed("\(error)"))
        }
        guard params.status == NVStatus.ok else {
            throw .refused(command: command ?? "the request", status: params.status, detail: params.refusalText)
        }
        return params.reply(room: room)
    }

    public func close() {
        session.close()
        subdevice = nil
        let c = onClose
        onClose = nil
        c?()
    }
}
