import GSPMessaging

/// What the stub's GSP-RM answers to a command.
enum StubReply {
    /// Nothing (GSP-RM does not answer `GSP_SET_SYSTEM_INFO` or `SET_REGISTRY`).
    case none
    /// A reply with the command's function and RPC sequence.
    case reply(payload: [UInt8], rpcResult: UInt32)
}

/// The stub's command dispatch: one handler per RPC function, and per RM control command.
/// Stage 2 adds its vGPU management commands here (a function handler, or controls on the
/// classes it allocates) without touching the queue code.
struct StubDispatcher {
    /// A function handler; it may reuse the message's payload for its reply.
    typealias Handler = (inout StubState, inout GSPMessage) -> StubReply
    /// An RM control handler: gets the whole `rpc_gsp_rm_control_v03_00` payload (parameters
    /// at offset 24, `paramsSize` of them) to read and update in place; returns the RM status.
    typealias ControlHandler = (inout StubState, RMObjectTable.Object, inout [UInt8]) -> UInt32

    var functions: [RPCFunction: Handler] = [:]
    var controls: [UInt32: ControlHandler] = [:]

    /// The handlers of stage 1: NOP, GET_GSP_STATIC_INFO, GSP_RM_ALLOC, GSP_RM_CONTROL, FREE,
    /// and late boot commands.
    static func standard() -> StubDispatcher {
        var d = StubDispatcher()
        d.functions[.nop] = { _, m in .reply(payload: m.payload, rpcResult: NVStatus.ok) }
        d.functions[.getGspStaticInfo] = { state, m in
            guard m.payload.count == GSPStaticInfo.size else {
                return .reply(payload: m.payload, rpcResult: NVStatus.rpcInvalidMessageFormat)
            }
            return .reply(payload: state.staticInfo.encoded, rpcResult: NVStatus.ok)
        }
        d.functions[.gspRmAlloc] = { state, m in
            guard var a = try? RMAlloc(decoding: m.payload) else {
                return .reply(payload: m.payload, rpcResult: NVStatus.rpcInvalidMessageFormat)
            }
            a.status = state.objects.alloc(a)
            return .reply(payload: a.encoded, rpcResult: NVStatus.ok)
        }
        d.functions[.free] = { state, m in
            guard var f = try? RMFree(decoding: m.payload) else {
                return .reply(payload: m.payload, rpcResult: NVStatus.rpcInvalidMessageFormat)
            }
            f.status = state.objects.free(f)
            return .reply(payload: f.encoded, rpcResult: NVStatus.ok)
        }
        d.functions[.unloadingGuestDriver] = { state, m in
            guard let u = try? UnloadingGuestDriver(decoding: m.payload) else {
                return .reply(payload: m.payload, rpcResult: NVStatus.rpcInvalidMessageFormat)
            }
            state.note(
                "UNLOADING_GUEST_DRIVER (bInPMTransition \(u.inPMTransition ? 1 : 0), newLevel \(u.newLevel)): unloading"
            )
            state.unloading = true
            return .reply(payload: m.payload, rpcResult: NVStatus.ok)
        }
        d.functions[.gspSetSystemInfo] = { state, _ in
            state.note("GSP_SET_SYSTEM_INFO after boot ignored")
            return .none
        }
        d.functions[.setRegistry] = { state, _ in
            state.note("SET_REGISTRY after boot ignored")
            return .none
        }
        d.controls[RMControlCommand.null] = { _, _, _ in NVStatus.ok }
        d.controls[RMControlCommand.gpuGetNameString] = { state, _, p in
            let h = RMControl.headerSize
            guard p.count - h == 4 + 2 * RMControlCommand.maxNameStringLength else {
                return NVStatus.errInvalidParamStruct
            }
            let flags = p.le32(h)
            guard flags <= 1 else { return NVStatus.errInvalidArgument }
            for i in (h + 4)..<p.count { p[i] = 0 }
            let name = Array(state.staticInfo.gpuName.utf8.prefix(RMControlCommand.maxNameStringLength - 1))
            for (i, b) in name.enumerated() { p[h + 4 + (flags == 0 ? i : 2 * i)] = b }
            return NVStatus.ok
        }
        StubVGPUManagement.register(&d)
        let controls = d.controls
        d.functions[.gspRmControl] = { state, m in
            // Header fields only; the parameters stay in the payload and the reply reuses it.
            // (No local copy of the payload: the in-place update below must not trigger a copy.)
            guard m.payload.count >= RMControl.headerSize,
                RMControl.headerSize + Int(m.payload.le32(16)) == m.payload.count
            else {
                return .reply(payload: m.payload, rpcResult: NVStatus.rpcInvalidMessageFormat)
            }
            let hClient = m.payload.le32(0)
            let hObject = m.payload.le32(4)
            let cmd = m.payload.le32(8)
            let status: UInt32
            if let object = state.objects.object(hObject, client: hClient) {
                // A control's class is its top 16 bits (NV0000 = client, NV2080 = subdevice...).
                let cmdClass = cmd >> 16
                let classOK =
                    cmd == RMControlCommand.null || cmdClass == object.hClass
                    || (cmdClass == 0 && (object.hClass == RMClass.root || object.hClass == RMClass.rootClient))
                if classOK, let handler = controls[cmd] {
                    status = handler(&state, object, &m.payload)
                } else {
                    status = NVStatus.errNotSupported
                }
            } else {
                status = NVStatus.errInvalidObjectHandle
            }
            m.payload.put32(12, status)
            return .reply(payload: m.payload, rpcResult: NVStatus.ok)
        }
        return d
    }

    /// Answers one command after boot. Unknown functions get
    /// NV_VGPU_MSG_RESULT_RPC_UNKNOWN_FUNCTION with their payload echoed.
    func handle(_ m: inout GSPMessage, state: inout StubState) -> StubReply {
        guard let h = functions[m.function] else {
            state.note(
                "\(m.function.name) (\(m.function.rawValue)) is not served: NV_VGPU_MSG_RESULT_RPC_UNKNOWN_FUNCTION")
            return .reply(payload: m.payload, rpcResult: NVStatus.rpcUnknownFunction)
        }
        return h(&state, &m)
    }
}
