/// One element on the queues as the driver saw it: direction, function, sequence, length.
public struct TranscriptEntry: Codable, Equatable, Sendable {
    public enum Direction: String, Codable, Sendable {
        case toGSP = "cpu->gsp"
        case fromGSP = "gsp->cpu"
    }

    public var direction: Direction
    public var function: UInt32
    public var functionName: String
    /// The element's `seqNum` (per queue).
    public var seqNum: UInt32
    /// The RPC header's `length` (RPC header + payload in this element).
    public var length: UInt32
    public var elemCount: UInt32
    /// The RPC header's `sequence`.
    public var sequence: UInt32
    /// `rpc_result` of messages from GSP.
    public var rpcResult: UInt32?
    /// What the driver made of it (a log line, the sequencer outcome).
    public var note: String?

    public init(_ direction: Direction, _ r: ElementRecord, note: String? = nil) {
        self.direction = direction
        function = r.function.rawValue
        functionName = r.function.name
        seqNum = r.seqNum
        length = r.length
        elemCount = r.elemCount
        sequence = r.sequence
        rpcResult = direction == .fromGSP ? r.rpcResult : nil
        self.note = note
    }

    /// `cpu->gsp  GSP_SET_SYSTEM_INFO  seq 0  len 0x3c0`.
    public var line: String {
        var s = "\(direction.rawValue)  \(functionName)  seqNum \(seqNum)  length \(hex0x(length))"
        if elemCount > 1 { s += "  (\(elemCount) pages)" }
        if let r = rpcResult, r != 0, r != RPCHeader.resultPending { s += "  rpc_result \(NVStatus.describe(r))" }
        if let note { s += "  - \(note)" }
        return s
    }
}
