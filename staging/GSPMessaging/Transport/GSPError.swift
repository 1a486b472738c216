import HostKit

/// What can go wrong on the GSP message queues, as an enum with payloads; `description` is the
/// operator's sentence, and each caller keeps the value underneath its own module's error.
public enum GSPError: Error, Sendable, CustomStringConvertible {
    /// Nothing arrived (or no space freed) before the deadline.
    case timeout(waitingFor: String, after: Duration)
    /// The other side is gone or halted (the text says how) while this side waited for something.
    case peerGone(String, waitingFor: String)
    /// An element failed the receiver's checks (checksum, sequence number, header, length).
    case badElement(QueueFault, from: GSPSide)
    /// A payload did not decode.
    case badPayload(RPCFunction, VGPUPayloadError)
    /// The messages do not follow the protocol (a missing continuation, a reply to the wrong call).
    case protocolViolation(String)
    /// The peer answered an RPC with an error `rpc_result`.
    case rpcFailed(RPCFunction, sequence: UInt32, result: UInt32)
    /// A message larger than the ring allows.
    case tooLarge(String)

    public var description: String {
        switch self {
        case .timeout(let what, let after):
            "timed out after \(Self.seconds(after)) waiting for \(what)"
        case .peerGone(let text, let what):
            "\(text) while waiting for \(what)"
        case .badElement(let fault, let from):
            "\(from == .gsp ? "message from GSP" : "command from the CPU") rejected: \(fault)"
        case .badPayload(let function, let e):
            "\(function.name) payload rejected \(e)"
        case .protocolViolation(let text):
            "protocol violation: \(text)"
        case .rpcFailed(let function, let sequence, let result):
            "GSP-RM answered \(function.name) (RPC sequence \(sequence)) with rpc_result \(NVStatus.describe(result))"
        case .tooLarge(let text):
            text
        }
    }

    /// The error as vgpuctl reports it, naming the shared file so the queues can be decoded; this
    /// error is kept underneath, as a value.
    public func moduleError(context: String, sharedFile: String? = nil) -> GSPMessagingError {
        var m = "\(context): \(description)"
        if let f = sharedFile { m += "; the queues are kept in \(f) (decode them with 'vgpuctl gsp decode \(f)')" }
        return .failed(.queue, m, underlying: self)
    }

    /// `2 s`, `0.15 s`: hundredths, trailing zeros trimmed.
    static func seconds(_ d: Duration) -> String {
        let (s, atto) = d.components
        var whole = s
        var hundredths = (atto + 5_000_000_000_000_000) / 10_000_000_000_000_000
        if hundredths >= 100 {
            whole += 1
            hundredths -= 100
        }
        if hundredths == 0 { return "\(whole) s" }
        var digits = hundredths < 10 ? "0\(hundredths)" : "\(hundredths)"
        while digits.hasSuffix("0") { digits.removeLast() }
        return "\(whole).\(digits) s"
    }
}
