import HostKit

/// Whether to boot with vGPU. `auto` and `on` follow upstream's rule (``VGPUGate``) and
/// refuse when one of its conditions fails; `auto` boots without vGPU a PF that has no SR-IOV
/// capability at all. (The RFC's `vgpu_support` parameter this mirrored is gone upstream.)
public enum VGPUMode: String, Sendable, Codable, CaseIterable {
    case auto, on, off
}

/// Everything a vGPU-enabled boot sends, decided before any message flows.
public struct VGPUBootPlan: Codable, Sendable {
    public var pf: PCIAddress
    public var vgpu: Bool
    public var systemInfo: GSPSystemInfo
    public var registry: RegistryTable
    public var wprMeta: WPRMeta
    /// The gate's inputs (nil when booting without vGPU).
    public var gate: VGPUGate?

    /// Builds the plan from the PF's config space (read through libpci). `sriovOffset` is
    /// where libpci found the SR-IOV capability, nil when the PF has none.
    public static func make(
        pf: PCIAddress, config: ConfigSpace, sriovOffset: Int?, mode: VGPUMode,
        frameBufferBytes: UInt64, extraRegistry: [RegistryEntry] = [],
        fspVGPUMode: Bool? = nil
    ) throws(GSPMessagingError) -> VGPUBootPlan {
        let vgpu: Bool
        switch mode {
        case .off: vgpu = false
        case .auto: vgpu = sriovOffset != nil
        case .on:
            guard sriovOffset != nil else {
                throw .invalid(
                    .vgpuGate,
                    "\(pf) has no SR-IOV capability in its config space, so GSP-RM cannot be booted with vGPU; use --vgpu auto or off"
                )
            }
            vgpu = true
        }
        let info = GSPSystemInfo(address: pf, config: config, sriovOffset: sriovOffset, vgpu: vgpu)
        var gate: VGPUGate?
        if vgpu {
            let id = config.deviceID ?? 0
            let g = VGPUGate(
                architecture: .of(deviceID: id), deviceID: id, totalVFs: Int(info.vfInfo.totalVFs),
                fspVGPUMode: fspVGPUMode)
            let failures = g.failures(pf: pf)
            if !failures.isEmpty {
                throw .failed(
                    .vgpuGate,
                    "refusing to boot GSP-RM with vGPU: " + failures.joined(separator: "; ")
                        + (mode == .auto ? " (--vgpu off boots without vGPU)" : ""),
                    cause: "vGPU gate")
            }
            gate = g
        }
        return VGPUBootPlan(
            pf: pf, vgpu: vgpu, systemInfo: info,
            registry: .standard(vgpu: vgpu, extra: extraRegistry),
            wprMeta: .layout(fbSize: frameBufferBytes, vgpu: vgpu), gate: gate)
    }
}

/// What a boot did and found.
public struct VGPUBootReport: Codable, Sendable {
    public var firmware: String
    public var pf: String
    public var vgpu: Bool
    /// The `GSP_VF_INFO` sent in `GSP_SET_SYSTEM_INFO`.
    public var vfInfo: GSPVFInfo
    public var registry: [RegistryEntry]
    public var wprHeapMiB: UInt64
    /// Whether the WPR2 heap is large enough that a real boot runs the scrubber on SEC2 first.
    public var scrubberRequired: Bool
    public var transcript: [TranscriptEntry]
    public var logs: [String]
    public var staticInfo: GSPStaticInfo
    public var stubPid: Int32?
    public var sharedFile: String?
    /// What upstream's vGPU gate saw (nil when booted without vGPU).
    public var gate: VGPUGate?
    /// How GSP-RM was started, as the messages show it: "SEC2 booter + CPU sequencer" when
    /// GSP-RM asked for `GSP_RUN_CPU_SEQUENCER` (Turing, Ampere, Ada), "FSP chain of trust (no
    /// CPU sequencer)" when it did not (Hopper, Blackwell).
    public var bootPath: String?
}

/// The vGPU-enabled boot sequence as nova-core runs it (`gsp/boot.rs` with the RFC "gpu:
/// nova-core: Enable booting GSP with vGPU enabled"), split where the firmware starts:
///
/// 1. ``prepare(mapping:plan:)``: initialise the command queue and the boot arguments
///    (queue location, WPR metadata with the vGPU heap), and queue `GSP_SET_SYSTEM_INFO`
///    (with `GSP_VF_INFO`) and `SET_REGISTRY` (with `RMSetSriovMode=1`) before GSP runs.
/// 2. The caller starts the firmware (a real driver resets the falcon and runs the booter;
///    the simulation starts `gsp-stub`).
/// 3. ``complete(client:plan:linkTimeout:)``: wait for GSP-RM to link its status queue, serve
///    `GSP_RUN_CPU_SEQUENCER`, log `OS_ERROR_LOG` and `UCODE_LIBOS_PRINT`, wait for
///    `GSP_INIT_DONE`, then `GET_GSP_STATIC_INFO`. Every wait has a deadline.
public enum VGPUBoot {
    /// Step 1. Returns the client whose transcript already holds the two queued commands.
    public static func prepare(
        mapping: SharedMapping, plan: VGPUBootPlan,
        receiveTimeout: Duration, spin: Int = 0
    ) throws(GSPError) -> GSPClient {
        let page = ControlPage(mapping)
        for i in 0..<GspMemLayout.pteCount {
            (mapping.base + GspMemLayout.pteOffset + 8 * i).storeBytes(
                of: UInt64(i * GspMemLayout.pageSize).littleEndian, as: UInt64.self)
        }
        QueueRing(mapping: mapping, side: .cpu).initializeOwnQueue()
        page.registers.reset()
        page.initialize(arguments: MessageQueueInitArguments(), wprMeta: plan.wprMeta)
        let client = GSPClient(
            endpoint: GSPEndpoint(mapping: mapping, side: .cpu, spin: spin), receiveTimeout: receiveTimeout)
        let heap = plan.wprMeta.gspFwHeapSize
        client.log(
            "WPR2 heap \(heap >> 20) MiB, \(plan.wprMeta.gspFwHeapVfPartitionCount) VF partitions"
                + (heap > WPRMeta.scrubberThreshold
                    ? "; above 256 MB a real boot runs the scrubber ucode on SEC2 first (simulated: not needed)" : ""))
        try client.post(.gspSetSystemInfo, plan.systemInfo.encoded)
        try client.post(.setRegistry, plan.registry.encoded)
        return client
    }

    /// Step 3.
    public static func complete(client: GSPClient, plan: VGPUBootPlan, linkTimeout: Duration) throws(GSPError)
        -> VGPUBootReport
    {
        let endpoint = client.endpoint
        try endpoint.wait(for: "GSP-RM to initialise its status queue", until: ContinuousClock.now + linkTimeout) {
            endpoint.ring.peerQueueLinked
        }
        let registers = endpoint.page.registers
        client.sequencer = { seq throws(GSPError) in
            var runner = CPUSequencerRunner(
                registers: registers,
                waitUntil: { deadline, cond in (try? endpoint.wait(for: "a register", until: deadline, cond)) != nil },
                ring: { endpoint.page.toGSP.ring() })
            try runner.run(seq)
            return "ran \(seq.commands.count) sequencer commands (\(seq.cmdIndex) words)"
        }
        _ = try client.waitForEvent(.gspInitDone)
        client.sequencer = nil
        let reply = try client.call(.getGspStaticInfo, [UInt8](repeating: 0, count: GSPStaticInfo.size))
        let info: GSPStaticInfo
        do { info = try GSPStaticInfo(decoding: reply.payload) } catch { throw .badPayload(.getGspStaticInfo, error) }
        return VGPUBootReport(
            firmware: GSPFirmwareTable.current.version, pf: plan.pf.description, vgpu: plan.vgpu,
            vfInfo: plan.systemInfo.vfInfo, registry: plan.registry.entries,
            wprHeapMiB: plan.wprMeta.gspFwHeapSize >> 20,
            scrubberRequired: plan.wprMeta.gspFwHeapSize > WPRMeta.scrubberThreshold,
            transcript: client.transcript, logs: client.logs, staticInfo: info,
            stubPid: nil, sharedFile: endpoint.mapping.path, gate: plan.gate,
            bootPath: client.transcript.contains { $0.functionName == RPCFunction.gspRunCpuSequencer.name }
                ? "SEC2 booter + CPU sequencer" : "FSP chain of trust (no CPU sequencer)")
    }
}
