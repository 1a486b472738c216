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
    typealias Handler = (inout StubState, GSPMessage) -> StubReply
    typealias ControlHandler = (inout StubState, RMObjectTable.Object, inout RMControl) -> UInt32

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
        d.functions[.gspSetSystemInfo] = { state, _ in
            state.note("GSP_SET_SYSTEM_INFO after boot ignored")
            return .none
        }
        d.functions[.setRegistry] = { state, _ in
            state.note("SET_REGISTRY after boot ignored")
            return .none
        }
        d.controls[RMControlCommand.null] = { _, _, _ in NVStatus.ok }
        d.controls[RMControlCommand.gpuGetNameString] = { state, _, c in
            guard c.params.count == 4 + 2 * RMControlCommand.maxNameStringLength else { return NVStatus.errInvalidParamStruct }
            let flags = c.params.le32(0)
            var out = [UInt8](repeating: 0, count: c.params.count)
            out.put32(0, flags)
            let name = Array(state.staticInfo.gpuName.utf8.prefix(RMControlCommand.maxNameStringLength - 1))
            switch flags {
            case 0: for (i, b) in name.enumerated() { out[4 + i] = b }
            case 1: for (i, b) in name.enumerated() { out[4 + 2 * i] = b }
            default: return NVStatus.errInvalidArgument
            }
            c.params = out
            return NVStatus.ok
        }
        let controls = d.controls
        d.functions[.gspRmControl] = { state, m in
            guard var c = try? RMControl(decoding: m.payload) else {
                return .reply(payload: m.payload, rpcResult: NVStatus.rpcInvalidMessageFormat)
            }
            guard let object = state.objects.object(c.hObject, client: c.hClient) else {
                c.status = NVStatus.errInvalidObjectHandle
                return .reply(payload: c.encoded, rpcResult: NVStatus.ok)
            }
            // A control's class is its top 16 bits (NV0000 = client, NV2080 = subdevice...).
            let cmdClass = c.cmd >> 16
            let classOK = c.cmd == RMControlCommand.null || cmdClass == object.hClass
                || (cmdClass == 0 && (object.hClass == RMClass.root || object.hClass == RMClass.rootClient))
            guard classOK, let handler = controls[c.cmd] else {
                c.status = NVStatus.errNotSupported
                return .reply(payload: c.encoded, rpcResult: NVStatus.ok)
            }
            c.status = handler(&state, object, &c)
            return .reply(payload: c.encoded, rpcResult: NVStatus.ok)
        }
        return d
    }

    /// Answers one command after boot. Unknown functions get
    /// NV_VGPU_MSG_RESULT_RPC_UNKNOWN_FUNCTION with their payload echoed.
    func handle(_ m: GSPMessage, state: inout StubState) -> StubReply {
        guard let h = functions[m.function] else {
            state.note("\(m.function.name) (\(m.function.rawValue)) is not served: NV_VGPU_MSG_RESULT_RPC_UNKNOWN_FUNCTION")
            return .reply(payload: m.payload, rpcResult: NVStatus.rpcUnknownFunction)
        }
        return h(&state, m)
    }
}
