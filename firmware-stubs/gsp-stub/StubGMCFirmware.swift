import ControlChannel
import Foundation
import GPUModels
import GSPMessaging
import HostKit
import SimGPU

/// The stub's GSP-RM in the development firmware's wire format (r000_00): links its queue with
/// the r000_00 `msgqTxHeader`, answers `GMCAPI_CMD_GSP_INIT` (NVKV system info) after the vGPU
/// checks, then serves the seven vGPU management commands as GMC API commands (0x1000000N,
/// the same firmware model as the r570.144 path) and the RM RPC `UNLOADING_GUEST_DRIVER`
/// (NVDM 0x25), after which it runs the unloaders and exits.
final class StubGMCFirmware {
    let options: StubOptions
    let mapping: SharedMapping
    let endpoint: GMCEndpoint
    @exclusivity(unchecked) var state: StubState
    let manager = StubVGPUManager.fromCommandLine()
    var page: ControlPage { endpoint.page }

    init(options: StubOptions, spec: DeviceSpec, mapping: SharedMapping) {
        self.options = options
        self.mapping = mapping
        endpoint = GMCEndpoint(mapping: mapping, side: .gsp)
        state = StubState(model: options.model, spec: spec, pf: options.pf)
        state.firmwareName = GSPWireFormat.r000_00.rawValue
    }

    func run() -> Never {
        page.firmwarePid = getpid()
        page.firmwareState = .starting
        endpoint.initializeOwnQueue()
        page.firmwareState = .linked
        page.toCPU.ring()
        let path = StubBootPath.of(state.spec)
        state.bootPath = path.rawValue
        state.note(
            "r000_00 status queue linked (pid \(getpid()), model \(options.model), PF \(options.pf)); \(StubBootPath.chip(state.spec)): started through the \(path.rawValue)"
        )
        do {
            try boot()
            try serve()
        } catch {
            halt(error.code, error.text)
        }
    }

    private func receive(_ what: String, until deadline: ContinuousClock.Instant) throws(StubFirmware.Halt)
        -> GMCElement
    {
        do {
            let e = try endpoint.receive(until: deadline, waitingFor: what)
            state.commandsReceived += 1
            return e
        } catch {
            if case .timeout = error {
                throw StubFirmware.Halt(code: NVStatus.errTimeout, text: "no \(what) from the CPU: \(error)")
            }
            throw StubFirmware.Halt(code: NVStatus.errInvalidData, text: "\(error)")
        }
    }

    private func respond(to g: GMCAPIHeader, status: UInt32, _ payload: [UInt8]) throws(StubFirmware.Halt) {
        let h = GMCAPIHeader.response(g.commandID, sequence: g.sequence, status: status, payloadSize: payload.count)
        do { try endpoint.send(GMCElement(gmcapi: h, payload: payload), until: .now + .seconds(10)) } catch {
            throw StubFirmware.Halt(
                code: NVStatus.errTimeout, text: "cannot answer \(GMCCommandTable.name(of: g.commandID)): \(error)")
        }
    }

    private func boot() throws(StubFirmware.Halt) {
        let e = try receive("GMCAPI_CMD_GSP_INIT", until: .now + .seconds(10))
        guard let g = e.gmcapi, g.commandID == GMCBoot.gspInit else {
            throw StubFirmware.Halt(
                code: NVStatus.errInvalidState, text: "\(e.summary) arrived before GMCAPI_CMD_GSP_INIT")
        }
        let info: GMCSystemInfo
        do { info = try GMCSystemInfo(decoding: e.payload) } catch {
            try respond(to: g, status: NVStatus.errInvalidParamStruct, [])
            throw StubFirmware.Halt(
                code: NVStatus.errInvalidParamStruct, text: "GSP_INIT system info rejected \(error)")
        }
        state.note(
            "GMCAPI_CMD_GSP_INIT: NVGMC_SI_VF_TOTAL_VFS \(info.totalVFs), FIRST_VF_OFFSET \(info.firstVFOffset), FIRST_BAR0..2 \(info.firstVFBarAddresses.map { hex0x($0) }.joined(separator: ", "))"
        )
        state.gmcVGPU = info.totalVFs > 0
        if info.totalVFs > 0 {
            if let link = StubHostLink.find(sharedFile: options.sharedFile, pf: options.pf),
                let pf = PCIAddress(options.pf)
            {
                let enabled = (try? SimFSP(root: HostRoot(link.hostRoot)).vgpuMode(pf)) ?? false
                guard enabled else {
                    try respond(to: g, status: NVStatus.errNotSupported, [])
                    throw StubFirmware.Halt(
                        code: NVStatus.errNotSupported,
                        text:
                            "vGPU asked for but the FSP vGPU mode (PRC knob 0x29) of \(options.pf) is disabled or unreadable"
                    )
                }
            }
        }
        try respond(to: g, status: NVStatus.ok, [])
        page.firmwareState = .running
        state.note("GSP_INIT answered NV_OK (vGPU \(info.totalVFs > 0 ? "on, \(info.totalVFs) VFs" : "off"))")
        state.write(report: options.reportFile, state: .running)
    }

    private func serve() throws(StubFirmware.Halt) -> Never {
        while true {
            do {
                try endpoint.wait(for: "commands", until: .now + .seconds(2)) { endpoint.hasPending }
            } catch {
                if mapping.isUnlinked { exitNow("shared file deleted; exiting") }
                continue
            }
            let e = try receive("a command", until: .now + .seconds(10))
            if let g = e.gmcapi {
                let n = Int(g.commandID) - Int(NovaCoreTable.CommandIDSet.r000_00.id(0))
                guard (1...NovaCoreTable.all.count).contains(n) else {
                    state.note("\(GMCCommandTable.name(of: g.commandID)) is not served: NV_ERR_NOT_SUPPORTED")
                    try respond(to: g, status: NVStatus.errNotSupported, [])
                    continue
                }
                let command = NovaCoreTable.all[n - 1]
                let r = manager.handleGMC(&state, command: command, payload: e.payload, maxResponse: Int(g.word1))
                try respond(to: g, status: r.status, r.payload)
            } else if let rpc = e.rpc {
                var result = NVStatus.ok
                if rpc.function == .unloadingGuestDriver {
                    state.note("UNLOADING_GUEST_DRIVER (RM RPC over NVDM 0x25): unloading")
                    state.unloading = true
                } else {
                    state.note(
                        "\(rpc.function.name) is not served over r000_00: NV_VGPU_MSG_RESULT_RPC_UNKNOWN_FUNCTION")
                    result = NVStatus.rpcUnknownFunction
                }
                var h = RPCHeader(
                    length: rpc.length, function: rpc.function, rpcResult: result, rpcResultPrivate: result,
                    sequence: rpc.sequence)
                h.spare = rpc.spare
                do { try endpoint.send(GMCElement(rpc: h, payload: e.payload), until: .now + .seconds(10)) } catch {
                    throw StubFirmware.Halt(
                        code: NVStatus.errTimeout, text: "cannot answer \(rpc.function.name): \(error)")
                }
                if state.unloading {
                    exitNow("Booter Unloader and FWSEC-SB (simulated): GSP-RM unloaded; exiting")
                }
            }
        }
    }

    func halt(_ code: UInt32, _ text: String) -> Never {
        state.halt = text
        state.note("halting: \(text)")
        page.haltCode = code
        page.firmwareState = .halted
        page.toCPU.ring()
        state.write(report: options.reportFile, state: .halted)
        while true {
            _ = page.toGSP.wait(until: .now + .seconds(2), spin: 0) { false }
            if mapping.isUnlinked { exitNow("shared file deleted; exiting") }
        }
    }

    func exitNow(_ why: String) -> Never {
        state.note(why)
        page.firmwareState = .exited
        page.toCPU.ring()
        state.write(report: options.reportFile, state: .exited)
        exit(0)
    }
}
