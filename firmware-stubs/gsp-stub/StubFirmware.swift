import ControlChannel
import Foundation
import GPUModels
import GSPMessaging
import HostKit
import SimGPU

/// The stub's GSP-RM: links the status queue, checks the boot commands as firmware would,
/// emits the boot events (log prints, the CPU sequencer request, `GSP_INIT_DONE`), then serves
/// commands until it is stopped. Idle, it sleeps on the doorbell.
final class StubFirmware {
    let options: StubOptions
    let mapping: SharedMapping
    let endpoint: GSPEndpoint
    @exclusivity(unchecked) var state: StubState
    let dispatcher = StubDispatcher.standard()
    var page: ControlPage { endpoint.page }

    /// Registry keys this GSP-RM knows; others are logged (OS_ERROR_LOG) and ignored.
    static let knownRegistryKeys: Set<String> = [
        "RMSecBusResetEnable", "RMForcePcieConfigSave", "RMDevidCheckIgnore", "RMSetSriovMode",
    ]

    init(options: StubOptions, spec: DeviceSpec, mapping: SharedMapping) {
        self.options = options
        self.mapping = mapping
        endpoint = GSPEndpoint(mapping: mapping, side: .gsp, spin: StubEnvironment.current.spin)
        state = StubState(model: options.model, spec: spec, pf: options.pf)
        let faults = options.faults
        endpoint.sendFault = { n in
            (faults.contains(.corruptChecksum(n)), faults.contains(.skipSequence(n)))
        }
    }

    func run() -> Never {
        page.firmwarePid = getpid()
        page.firmwareState = .starting
        endpoint.ring.initializeOwnQueue()
        page.firmwareState = .linked
        page.toCPU.ring()
        state.note("status queue linked (pid \(getpid()), model \(options.model), PF \(options.pf))")
        if options.faults.contains(.silent) {
            state.note("fault: silent")
            idle(.linked)
        }
        do {
            try boot()
            try serve()
        } catch {
            halt(error.code, error.text)
        }
    }

    // MARK: Boot

    struct Halt: Error {
        var code: UInt32
        var text: String
    }

    private func boot() throws(Halt) {
        let args = page.gspArguments
        guard args.cmdQueueOffset == UInt64(GspMemLayout.cpuQueueOffset),
            args.statQueueOffset == UInt64(GspMemLayout.gspQueueOffset),
            args.pageTableEntryCount == UInt32(GspMemLayout.pteCount)
        else {
            throw Halt(
                code: NVStatus.errInvalidArgument,
                text:
                    "MESSAGE_QUEUE_INIT_ARGUMENTS name cmd queue \(args.cmdQueueOffset), status queue \(args.statQueueOffset), \(args.pageTableEntryCount) PTEs; expected 0x1000, 0x41000, 0x81"
            )
        }
        let wpr = page.wprMeta
        guard wpr.magic == WPRMeta.magicValue, wpr.revision == WPRMeta.revisionValue else {
            throw Halt(
                code: NVStatus.errInvalidData,
                text:
                    "GspFwWprMeta magic \(String(wpr.magic, radix: 16)) revision \(wpr.revision) is not a valid WPR metadata block"
            )
        }
        state.wprMeta = wpr

        // The two commands the driver queued before starting us.
        while state.systemInfo == nil || state.registry == nil {
            let m = try receive(until: .now + .seconds(10), what: "GSP_SET_SYSTEM_INFO and SET_REGISTRY")
            switch m.function {
            case .gspSetSystemInfo:
                guard m.payload.count == GSPSystemInfo.size else {
                    throw Halt(
                        code: NVStatus.errInvalidParamStruct,
                        text: "GSP_SET_SYSTEM_INFO payload is \(m.payload.count) bytes, expected \(GSPSystemInfo.size)")
                }
                let info = GSPSystemInfo(decoding: m.payload)
                state.systemInfo = info
                let vf = info.vfInfo
                state.note(
                    "GSP_SET_SYSTEM_INFO: PCI \(String(info.pciDeviceID, radix: 16)), GSP_VF_INFO totalVFs \(vf.totalVFs) firstVFOffset \(vf.firstVFOffset) BAR0 0x\(String(vf.firstVFBar0Address, radix: 16)) BAR1 0x\(String(vf.firstVFBar1Address, radix: 16)) BAR2 0x\(String(vf.firstVFBar2Address, radix: 16))"
                )
            case .setRegistry:
                let registry: RegistryTable
                do { registry = try RegistryTable(decoding: m.payload) } catch {
                    throw Halt(code: NVStatus.errInvalidParamStruct, text: "SET_REGISTRY rejected \(error)")
                }
                state.registry = registry
                state.note("SET_REGISTRY: \(registry.entries.map(\.description).joined(separator: ", "))")
            default:
                throw Halt(
                    code: NVStatus.errInvalidState,
                    text: "\(m.function.name) arrived before GSP_SET_SYSTEM_INFO and SET_REGISTRY")
            }
        }
        try checkBootConfiguration()

        let path = StubBootPath.of(state.spec)
        state.bootPath = path.rawValue
        state.note("\(StubBootPath.chip(state.spec)): GSP-RM started through the \(path.rawValue)")
        try send(
            .ucodeLibosPrint,
            LibosPrint(
                text:
                    "GSP-RM \(GSPFirmwareTable.current.version) (vgpuctl gsp-stub) booting \(state.spec.name ?? options.model) at \(options.pf), started through the \(path.rawValue)"
            ).encoded)
        guard let vf = state.systemInfo?.vfInfo else {
            throw Halt(code: NVStatus.errInvalidState, text: "boot went on without GSP_SET_SYSTEM_INFO")
        }
        let mode =
            state.sriovMode
            ? "vGPU: SR-IOV mode, \(vf.totalVFs) VFs from routing-id offset \(vf.firstVFOffset), WPR2 heap \(state.wprMeta.gspFwHeapSize >> 20) MiB in \(state.wprMeta.gspFwHeapVfPartitionCount) VF partitions"
            : "vGPU: off"
        try send(.ucodeLibosPrint, LibosPrint(text: mode).encoded)

        // Turing/Ampere/Ada: ask the CPU to run the sequence that resumes the core, then wait
        // until it has. Hopper/Blackwell: the FSP started GSP-RM; there is nothing to resume.
        if path == .sec2Booter {
            let regs = page.registers
            regs.write(SimRegisters.Address.sec2Mailbox0, 0)
            regs.write(SimRegisters.Address.sec2Mailbox1, 0xA5A5)
            let seq = RunCPUSequencer(commands: [
                .regWrite(addr: SimRegisters.Address.gspMailbox0, value: 0),
                .regModify(addr: SimRegisters.Address.gspMailbox1, mask: 0xFF, value: 0x5A),
                .regPoll(
                    addr: SimRegisters.Address.sec2Mailbox1, mask: 0xFFFF, value: 0xA5A5, timeoutUs: 1_000_000, error: 0
                ),
                .delayUs(10),
                .regStore(addr: SimRegisters.Address.gspMailbox1, index: 0),
                .coreReset, .coreStart, .coreWaitForHalt, .coreResume,
            ])
            try send(.gspRunCpuSequencer, seq.encoded)
            do {
                try endpoint.wait(
                    for: "the CPU to run the sequencer (CORE_RESUME)", until: .now + options.sequencerTimeout
                ) {
                    (regs.read(SimRegisters.Address.gspRiscvCpuctl) ?? 0) & SimRegisters.Cpuctl.active != 0
                }
            } catch {
                throw Halt(code: NVStatus.errTimeout, text: "CPU sequencer not completed: \(error)")
            }
        }
        state.buildStaticInfo()
        try send(.gspInitDone, [])
        page.firmwareState = .running
        state.note("GSP_INIT_DONE sent")
        state.write(report: options.reportFile, state: .running)
    }

    /// Checks that a real GSP-RM would make of the boot commands: the device id (unless
    /// `RMDevidCheckIgnore=1`), and for SR-IOV mode VF info and a WPR2 heap big enough.
    private func checkBootConfiguration() throws(Halt) {
        guard let info = state.systemInfo, let reg = state.registry else { return }
        let expected = UInt32(state.spec.deviceID.value) << 16 | UInt32(state.spec.vendorID.value)
        if info.pciDeviceID != expected && reg["RMDevidCheckIgnore"] != 1 {
            throw Halt(
                code: NVStatus.errNotSupported,
                text:
                    "PCI device id \(String(info.pciDeviceID, radix: 16)) is not \(options.model) (\(String(expected, radix: 16)))"
            )
        }
        for e in reg.entries where !Self.knownRegistryKeys.contains(e.key) {
            try sendErrorLog(0, "registry key \(e.key)=\(e.value) is unknown to this GSP-RM; ignored")
        }
        if state.sriovMode {
            // The FSP's vGPU-mode knob (PRC knob 0x29): firmware booted for SR-IOV mode with it
            // disabled refuses, whatever the driver asked.
            if let link = StubHostLink.find(sharedFile: options.sharedFile, pf: options.pf),
                let pf = PCIAddress(options.pf)
            {
                let enabled: Bool
                do { enabled = try SimFSP(root: HostRoot(link.hostRoot)).vgpuMode(pf) } catch {
                    throw Halt(
                        code: NVStatus.errNotSupported,
                        text:
                            "RMSetSriovMode=1 but the FSP vGPU mode (PRC knob 0x29) of \(options.pf) cannot be read: \(error)"
                    )
                }
                guard enabled else {
                    throw Halt(
                        code: NVStatus.errNotSupported,
                        text: "RMSetSriovMode=1 but the FSP vGPU mode (PRC knob 0x29) of \(options.pf) is disabled")
                }
            }
            guard info.vfInfo.totalVFs > 0 else {
                throw Halt(code: NVStatus.errInvalidState, text: "RMSetSriovMode=1 but GSP_VF_INFO reports no VFs")
            }
            if let total = state.spec.sriov?.totalVFs, UInt32(total) != info.vfInfo.totalVFs {
                try sendErrorLog(0, "GSP_VF_INFO totalVFs \(info.vfInfo.totalVFs) differs from this GPU's \(total)")
            }
            guard state.wprMeta.gspFwHeapSize >= WPRMeta.vgpuHeapSize,
                state.wprMeta.gspFwHeapVfPartitionCount == WPRMeta.vgpuPartitionCount
            else {
                throw Halt(
                    code: NVStatus.errInsufficientResources,
                    text:
                        "SR-IOV mode needs a WPR2 heap of \(WPRMeta.vgpuHeapSize >> 20) MiB with \(WPRMeta.vgpuPartitionCount) VF partitions; GspFwWprMeta gives \(state.wprMeta.gspFwHeapSize >> 20) MiB and \(state.wprMeta.gspFwHeapVfPartitionCount)"
                )
            }
        }
    }

    // MARK: Serving

    private func serve() throws(Halt) -> Never {
        while true {
            do {
                try endpoint.wait(for: "commands", until: .now + .seconds(2)) { endpoint.hasPending }
            } catch {
                if mapping.isUnlinked { exitNow(0, "shared file deleted; exiting") }
                continue
            }
            var m = try receive(until: .now + .seconds(10), what: "a command")
            switch dispatcher.handle(&m, state: &state) {
            case .none:
                break
            case .reply(let payload, let result):
                var r = result
                for case .rpcError(let f, let status) in options.faults where f == m.function { r = status }
                try send(m.function, payload, sequence: m.sequence, rpcResult: r)
            }
            if state.unloading {
                // What the driver runs next on real hardware: Booter Unloader, then FWSEC-SB.
                exitNow(0, "Booter Unloader and FWSEC-SB (simulated): GSP-RM unloaded; exiting")
            }
        }
    }

    // MARK: Queue access with firmware checks

    /// Receives one command; a command failing the checks (checksum, sequence, header, length,
    /// missing continuation) halts the firmware.
    private func receive(until deadline: ContinuousClock.Instant, what: String) throws(Halt) -> GSPMessage {
        do {
            let m = try endpoint.receive(until: deadline, waitingFor: what)
            state.commandsReceived += 1
            return m
        } catch {
            switch error {
            case .timeout: throw Halt(code: NVStatus.errTimeout, text: "no \(what) from the CPU: \(error)")
            default: throw Halt(code: NVStatus.errInvalidData, text: "\(error)")
            }
        }
    }

    private func send(
        _ function: RPCFunction, _ payload: [UInt8], sequence: UInt32 = 0, rpcResult: UInt32 = NVStatus.ok
    ) throws(Halt) {
        do {
            try endpoint.send(
                function: function, payload: payload, sequence: sequence, rpcResult: rpcResult,
                rpcResultPrivate: rpcResult, until: .now + .seconds(10))
        } catch {
            throw Halt(code: NVStatus.errTimeout, text: "cannot send \(function.name): \(error)")
        }
        for case .exitAfter(let n) in options.faults where endpoint.elementsSent >= n {
            state.note("fault: exit after message \(n)")
            state.write(report: options.reportFile, state: .exited)
            exit(3)
        }
    }

    private func sendErrorLog(_ type: UInt32, _ text: String) throws(Halt) {
        state.note("OS_ERROR_LOG: \(text)")
        try send(.osErrorLog, OSErrorLog(exceptType: type, message: text).encoded)
    }

    // MARK: Ending

    /// Stops serving: logs the reason (OS_ERROR_LOG when the queue allows), marks the page
    /// halted, and waits to be stopped.
    func halt(_ code: UInt32, _ text: String) -> Never {
        state.halt = text
        state.note("halting: \(text)")
        try? send(.osErrorLog, OSErrorLog(exceptType: code, message: "GSP-RM halted: \(text)").encoded)
        page.haltCode = code
        page.firmwareState = .halted
        page.toCPU.ring()
        idle(.halted)
    }

    /// Sleeps until stopped (SIGTERM) or until the shared file is deleted.
    func idle(_ s: FirmwareState) -> Never {
        state.write(report: options.reportFile, state: s)
        while true {
            _ = page.toGSP.wait(until: .now + .seconds(2), spin: 0) { false }
            if mapping.isUnlinked { exitNow(0, "shared file deleted; exiting") }
        }
    }

    func exitNow(_ status: Int32, _ why: String) -> Never {
        state.note(why)
        page.firmwareState = .exited
        page.toCPU.ring()
        state.write(report: options.reportFile, state: .exited)
        exit(status)
    }
}
