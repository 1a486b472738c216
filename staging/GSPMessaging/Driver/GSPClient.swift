import HostKit

/// The driver side of the GSP queues (what nova-core's `Cmdq` does): sends commands, waits
/// for their replies with a deadline, and handles the events GSP-RM sends meanwhile (logs them,
/// runs the CPU sequencer when asked). Everything that crosses the queues goes into
/// ``transcript``.
public final class GSPClient {
    public let endpoint: GSPEndpoint
    /// Every element sent and received, in order (while ``recordsTranscript`` is on).
    public var transcript: [TranscriptEntry] {
        get { entries }
        set { entries = newValue }
    }
    @exclusivity(unchecked) private var entries: [TranscriptEntry] = []
    /// Whether to keep the transcript (a long run of calls, such as `gsp ping`, turns it off).
    @exclusivity(unchecked) public var recordsTranscript = true
    /// Text GSP-RM logged (`UCODE_LIBOS_PRINT`, `OS_ERROR_LOG`).
    @exclusivity(unchecked) public private(set) var logs: [String] = []
    /// The most recent `OS_ERROR_LOG` text, for error messages.
    @exclusivity(unchecked) public private(set) var lastErrorLog: String?
    /// How long each receive may wait (nova-core: 10 s).
    @exclusivity(unchecked) public var receiveTimeout: Duration
    /// Runs a `GSP_RUN_CPU_SEQUENCER` request; returns a note for the transcript.
    @exclusivity(unchecked) public var sequencer: ((RunCPUSequencer) throws(GSPError) -> String)?

    public init(endpoint: GSPEndpoint, receiveTimeout: Duration = .seconds(10)) {
        self.endpoint = endpoint
        self.receiveTimeout = receiveTimeout
    }

    private var deadline: ContinuousClock.Instant { ContinuousClock.now + receiveTimeout }

    /// Sends a command that GSP-RM does not answer (`GSP_SET_SYSTEM_INFO`, `SET_REGISTRY`).
    public func post(_ function: RPCFunction, _ payload: [UInt8]) throws(GSPError) {
        let elements = (payload.count + GspMemLayout.maxPayloadPerElement - 1) / GspMemLayout.maxPayloadPerElement
        let seq = endpoint.takeRPCSequence(elements: elements)
        let records = try endpoint.send(function: function, payload: payload, sequence: seq, until: deadline)
        record(records.records.map { TranscriptEntry(.toGSP, $0) })
    }

    /// Sends a command and waits for GSP-RM's reply (same function, same RPC sequence), which
    /// is expected to be as large as the command. Events arriving meanwhile are handled. An
    /// error `rpc_result` throws ``GSPError/rpcFailed(_:sequence:result:)``.
    public func call(_ function: RPCFunction, _ payload: [UInt8]) throws(GSPError) -> GSPMessage {
        let elements = max(
            1, (payload.count + GspMemLayout.maxPayloadPerElement - 1) / GspMemLayout.maxPayloadPerElement)
        let seq = endpoint.takeRPCSequence(elements: elements)
        let records = try endpoint.send(function: function, payload: payload, sequence: seq, until: deadline)
        record(records.records.map { TranscriptEntry(.toGSP, $0) })
        while true {
            let m = try endpoint.receive(
                until: deadline, waitingFor: "the reply to \(function.name) (RPC sequence \(seq))"
            ) { f in
                f == function ? payload.count : nil
            }
            if m.function.isEvent {
                try handleEvent(m)
                continue
            }
            record(m.elements.map { TranscriptEntry(.fromGSP, $0) })
            guard m.function == function, m.sequence == seq else {
                throw .protocolViolation(
                    "waiting for the reply to \(function.name) (RPC sequence \(seq)), got \(m.function.name) (RPC sequence \(m.sequence))"
                )
            }
            guard m.rpcResult == NVStatus.ok else {
                throw .rpcFailed(function, sequence: seq, result: m.rpcResult)
            }
            return m
        }
    }

    /// Receives until the event `event` arrives, handling every other event on the way (as
    /// nova-core's `wait_gsp_init_done` skips other messages). Each receive has its own deadline.
    public func waitForEvent(_ event: RPCFunction) throws(GSPError) -> GSPMessage {
        while true {
            let m = try endpoint.receive(until: deadline, waitingFor: event.name)
            if m.function == event {
                record(m.elements.map { TranscriptEntry(.fromGSP, $0) })
                return m
            }
            guard m.function.isEvent else {
                record(m.elements.map { TranscriptEntry(.fromGSP, $0, note: "unexpected reply") })
                throw .protocolViolation(
                    "waiting for \(event.name), got a reply to \(m.function.name) that nothing asked for")
            }
            try handleEvent(m)
        }
    }

    /// Logs or serves one event.
    func handleEvent(_ m: GSPMessage) throws(GSPError) {
        var note: String?
        switch m.function {
        case .ucodeLibosPrint:
            let p = LibosPrint(decoding: m.payload)
            note = p.text
            logs.append("UCODE_LIBOS_PRINT: \(p.text)")
        case .osErrorLog:
            let e = OSErrorLog(decoding: m.payload)
            note = "exceptType \(hex0x(e.exceptType)): \(e.message)"
            lastErrorLog = e.message
            logs.append("OS_ERROR_LOG: exceptType \(hex0x(e.exceptType)): \(e.message)")
        case .gspRunCpuSequencer:
            let seq: RunCPUSequencer
            do { seq = try RunCPUSequencer(decoding: m.payload) } catch { throw .badPayload(m.function, error) }
            record(m.elements.map { TranscriptEntry(.fromGSP, $0) })
            guard let run = sequencer else {
                throw .protocolViolation(
                    "GSP-RM asked for the CPU sequencer (\(seq.commands.count) commands) outside boot")
            }
            let outcome = try run(seq)
            if recordsTranscript, !entries.isEmpty { entries[entries.count - 1].note = outcome }
            return
        default:
            note = "event ignored"
        }
        record(m.elements.map { TranscriptEntry(.fromGSP, $0, note: note) })
    }

    private func record(_ e: @autoclosure () -> [TranscriptEntry]) {
        if recordsTranscript { entries += e() }
    }

    /// Records a line in the transcript's log (a boot step without a message).
    public func log(_ line: String) { logs.append(line) }
}

extension GSPClient {
    /// `GSP_RM_ALLOC`: allocates `hObject` of `hClass` under `hParent`. Throws when GSP-RM's
    /// status is not NV_OK.
    public func rmAlloc(hClient: UInt32, hParent: UInt32, hObject: UInt32, hClass: UInt32, params: [UInt8] = [])
        throws(GSPError) -> RMAlloc
    {
        let req = RMAlloc(hClient: hClient, hParent: hParent, hObject: hObject, hClass: hClass, params: params)
        let m = try call(.gspRmAlloc, req.encoded)
        let r: RMAlloc
        do { r = try RMAlloc(decoding: m.payload) } catch { throw .badPayload(.gspRmAlloc, error) }
        guard r.status == NVStatus.ok else {
            throw .protocolViolation(
                "GSP_RM_ALLOC of class \(hex0x(hClass)) as \(hex0x(hObject)) under \(hex0x(hParent)) failed with status \(NVStatus.describe(r.status))"
            )
        }
        return r
    }

    /// `GSP_RM_CONTROL`: runs control `cmd` on `hObject`; returns the parameters as GSP-RM
    /// left them. Throws when its status is not NV_OK.
    public func rmControl(hClient: UInt32, hObject: UInt32, cmd: UInt32, params: [UInt8]) throws(GSPError) -> [UInt8] {
        let req = RMControl(hClient: hClient, hObject: hObject, cmd: cmd, params: params)
        let m = try call(.gspRmControl, req.encoded)
        let r: RMControl
        do { r = try RMControl(decoding: m.payload) } catch { throw .badPayload(.gspRmControl, error) }
        guard r.status == NVStatus.ok else {
            throw .protocolViolation(
                "GSP_RM_CONTROL \(hex0x(cmd)) on \(hex0x(hObject)) failed with status \(NVStatus.describe(r.status))")
        }
        return r.params
    }

    /// `FREE`: frees `hObject` (and what it owns).
    public func rmFree(hClient: UInt32, hParent: UInt32, hObject: UInt32) throws(GSPError) {
        let m = try call(.free, RMFree(hRoot: hClient, hObjectParent: hParent, hObjectOld: hObject).encoded)
        let r: RMFree
        do { r = try RMFree(decoding: m.payload) } catch { throw .badPayload(.free, error) }
        guard r.status == NVStatus.ok else {
            throw .protocolViolation("FREE of \(hex0x(hObject)) failed with status \(NVStatus.describe(r.status))")
        }
    }
}
