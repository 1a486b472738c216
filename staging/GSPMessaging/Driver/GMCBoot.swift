/// What an r000_00 boot did and found.
public struct GMCBootReport: Codable, Sendable {
    /// `r000_00`.
    public var wireFormat: String
    public var pf: String
    public var vgpu: Bool
    /// The NVKV system info sent with `GMCAPI_CMD_GSP_INIT`.
    public var totalVFs: UInt32
    public var firstVFOffset: UInt32
    public var firstVFBarAddresses: [UInt64]
    /// `GSP_INIT`'s response status (`NV_OK`).
    public var status: String
    /// The queue versions each side wrote (`msgqTxHeader.versionMajor.versionMinor`).
    public var queueVersion: String
    /// Elements in each direction during the boot.
    public var elementsToGSP: Int
    public var elementsFromGSP: Int
    public var stubPid: Int32?
    public var sharedFile: String?
    /// The vGPU gate's inputs (nil when booted without vGPU).
    public var gate: VGPUGate?
}

/// The boot of the development firmware r000_00 as vgpuctl simulates it: the driver links its
/// queue (r000_00 `msgqTxHeader`) and queues `GMCAPI_CMD_GSP_INIT` (0x00010001) carrying the
/// NVKV system info (``GMCSystemInfo``); the firmware links its queue and answers `GSP_INIT`
/// with its status. The command id and the NVKV keys are the author's bindings'; what
/// GSP_INIT's payload holds beyond those keys is not published (vgpuctl sends only them).
public enum GMCBoot {
    public static let gspInit: UInt32 = 0x0001_0001

    /// Links the CPU queue and queues GSP_INIT. Returns the client and GSP_INIT's sequence.
    public static func prepare(mapping: SharedMapping, plan: VGPUBootPlan, receiveTimeout: Duration)
        throws(GSPError) -> (GMCClient, UInt64)
    {
        for i in 0..<GspMemLayout.pteCount {
            (mapping.base + GspMemLayout.pteOffset + 8 * i).storeBytes(
                of: UInt64(i * GspMemLayout.pageSize).littleEndian, as: UInt64.self)
        }
        let endpoint = GMCEndpoint(mapping: mapping, side: .cpu)
        endpoint.initializeOwnQueue()
        endpoint.page.registers.reset()
        endpoint.page.initialize(arguments: MessageQueueInitArguments(), wprMeta: plan.wprMeta)
        endpoint.page.cpuCounters = (0, 0, 0)
        let client = GMCClient(endpoint: endpoint, receiveTimeout: receiveTimeout)
        let info = GMCSystemInfo(plan.vgpu ? plan.systemInfo.vfInfo : GSPVFInfo())
        let seq = try client.post(gspInit, info.encoded, maxResponse: 0)
        return (client, seq)
    }

    /// Waits for the firmware's queue and GSP_INIT's response.
    public static func complete(client: GMCClient, sequence: UInt64, plan: VGPUBootPlan, linkTimeout: Duration)
        throws(GSPError) -> GMCBootReport
    {
        let endpoint = client.endpoint
        try endpoint.wait(for: "GSP-RM (r000_00) to initialise its status queue", until: .now + linkTimeout) {
            endpoint.peerQueueLinked
        }
        let r = try client.response(to: gspInit, sequence: sequence)
        guard r.status == NVStatus.ok else {
            throw .protocolViolation(
                "GSP-RM (r000_00) answered GMCAPI_CMD_GSP_INIT with \(NVStatus.describe(r.status))")
        }
        let info = GMCSystemInfo(plan.vgpu ? plan.systemInfo.vfInfo : GSPVFInfo())
        let peer = endpoint.peerTxHeader
        return GMCBootReport(
            wireFormat: GSPWireFormat.r000_00.rawValue, pf: plan.pf.description, vgpu: plan.vgpu,
            totalVFs: info.totalVFs, firstVFOffset: info.firstVFOffset,
            firstVFBarAddresses: info.firstVFBarAddresses, status: NVStatus.describe(r.status),
            queueVersion: "\(peer.versionMajor).\(peer.versionMinor)", elementsToGSP: endpoint.elementsSent,
            elementsFromGSP: endpoint.elementsReceived, stubPid: nil, sharedFile: endpoint.mapping.path, gate: plan.gate
        )
    }
}
