/// The driver side of the r000_00 queues: GMC API commands (a `GMCAPI_HEADER` request, the
/// response carrying the same command id and sequence) and RM RPCs in NVDM 0x25 elements.
/// The GMC sequence is kept in the simulation page (the RPC-sequence counter r570.144 would
/// use), so a later vgpuctl process continues it.
public final class GMCClient {
    public let endpoint: GMCEndpoint
    public let receiveTimeout: Duration

    public init(endpoint: GMCEndpoint, receiveTimeout: Duration) {
        self.endpoint = endpoint
        self.receiveTimeout = receiveTimeout
    }

    /// A GMC API response.
    public struct Response: Sendable, Equatable {
        public var commandID: UInt32
        public var sequence: UInt64
        /// `NV_STATUS`.
        public var status: UInt32
        public var payload: [UInt8]
    }

    private func nextSequence() -> UInt64 {
        var c = endpoint.page.cpuCounters
        let s = c.rpc
        c.rpc &+= 1
        endpoint.page.cpuCounters = c
        return UInt64(s)
    }

    /// Queues a GMC API request without waiting (a boot queues `GSP_INIT` before GSP runs).
    /// Returns its sequence.
    @discardableResult
    public func post(_ command: UInt32, _ payload: [UInt8], maxResponse: Int) throws(GSPError) -> UInt64 {
        let seq = nextSequence()
        let h = GMCAPIHeader.request(command, sequence: seq, payloadSize: payload.count, maxResponse: maxResponse)
        try endpoint.send(GMCElement(gmcapi: h, payload: payload), until: .now + receiveTimeout)
        return seq
    }

    /// Waits for the response to request `sequence` of `command`; anything else is a protocol
    /// violation.
    public func response(to command: UInt32, sequence: UInt64) throws(GSPError) -> Response {
        let name = GMCCommandTable.name(of: command)
        let e = try endpoint.receive(until: .now + receiveTimeout, waitingFor: "the response to \(name)")
        guard let g = e.gmcapi else {
            throw .protocolViolation("expected the GMC API response to \(name), got an RM RPC element")
        }
        guard g.commandID == command, g.sequence == sequence else {
            throw .protocolViolation(
                "expected the response to \(name) sequence \(sequence), got \(GMCCommandTable.name(of: g.commandID)) sequence \(g.sequence)"
            )
        }
        guard Int(g.word1) == e.payload.count else {
            throw .protocolViolation(
                "the response to \(name) declares size \(g.word1) but carries \(e.payload.count) bytes")
        }
        return Response(commandID: g.commandID, sequence: g.sequence, status: g.word0, payload: e.payload)
    }

    /// Sends a GMC API command and waits for its response.
    public func call(_ command: UInt32, _ payload: [UInt8], maxResponse: Int) throws(GSPError) -> Response {
        let seq = try post(command, payload, maxResponse: maxResponse)
        return try response(to: command, sequence: seq)
    }

    /// Sends an RM RPC (NVDM 0x25) and waits for its reply.
    public func callRPC(_ function: RPCFunction, _ payload: [UInt8]) throws(GSPError) -> GMCElement {
        let seq = UInt32(truncatingIfNeeded: nextSequence())
        let rpc = RPCHeader(length: UInt32(RPCHeader.size + payload.count), function: function, sequence: seq)
        try endpoint.send(GMCElement(rpc: rpc, payload: payload), until: .now + receiveTimeout)
        let e = try endpoint.receive(until: .now + receiveTimeout, waitingFor: "the reply to \(function.name)")
        guard let r = e.rpc, r.function == function, r.sequence == seq else {
            throw .protocolViolation("expected the reply to \(function.name) sequence \(seq), got \(e.summary)")
        }
        return e
    }
}
