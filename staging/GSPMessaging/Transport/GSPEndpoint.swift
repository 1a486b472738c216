import Foundation
import HostKit

/// A whole RPC message: the head element's RPC header fields and the payload with any
/// `CONTINUATION_RECORD`s joined.
public struct GSPMessage: Sendable {
    public var function: RPCFunction
    public var sequence: UInt32
    public var rpcResult: UInt32
    public var rpcResultPrivate: UInt32
    public var payload: [UInt8]
    /// The head element, and the continuation records after it.
    public var head: ElementRecord
    public var continuations: [ElementRecord] = []
    /// Every element it took, head first.
    public var elements: [ElementRecord] { [head] + continuations }
}

/// What ``GSPEndpoint/send(function:payload:sequence:rpcResult:rpcResultPrivate:until:)`` wrote.
public struct SentMessage: Sendable {
    public var head: ElementRecord
    public var continuations: [ElementRecord] = []
    /// Every element, head first.
    public var records: [ElementRecord] { [head] + continuations }
}

/// How big a message's whole payload is, from its head, for functions whose payload may
/// continue in `CONTINUATION_RECORD`s. GSP-RM knows this from each RPC's own size field
/// (`paramsSize`, the registry table's `size`); nil means the head is the whole message.
public enum RPCPayloadSize {
    /// From the head's payload bytes.
    public static func total(of function: RPCFunction, head: [UInt8]) -> Int? {
        total(of: function, headLength: head.count) { head.le32($0) }
    }

    /// From the head's payload length and a reader of its little-endian words.
    public static func total(of function: RPCFunction, headLength: Int, word: (Int) -> UInt32) -> Int? {
        switch function {
        case .gspRmControl where headLength >= RMControl.headerSize:
            RMControl.headerSize + Int(word(16))
        case .gspRmAlloc where headLength >= RMAlloc.headerSize:
            RMAlloc.headerSize + Int(word(20))
        case .setRegistry where headLength >= RegistryTable.headerSize:
            Int(word(0))
        default:
            nil
        }
    }
}

/// One end of the GSP queues with message semantics: sending splits payloads larger than one
/// element into `CONTINUATION_RECORD`s, receiving joins them; every wait sleeps on a doorbell
/// and ends at a deadline; sequence numbers are kept and checked.
public final class GSPEndpoint {
    public let side: GSPSide
    public let mapping: SharedMapping
    public let ring: QueueRing
    public let page: ControlPage

    /// Next element `seqNum` to send, and the next one expected from the peer.
    @exclusivity(unchecked) public var txSeqNum: UInt32
    @exclusivity(unchecked) public var rxSeqNum: UInt32
    /// Next RPC header `sequence` this side stamps on a command.
    @exclusivity(unchecked) public var rpcSequence: UInt32
    /// Doorbell checks to spin before sleeping (default 0: sleep at once; a short spin lowers
    /// latency only when both sides have a CPU of their own). Executables set it from
    /// `VGPUCTL_GSP_SPIN`.
    @exclusivity(unchecked) public var spin: Int
    /// Called while waiting: a sentence when the peer is gone (process exited), else nil.
    @exclusivity(unchecked) public var peerCheck: (() -> String?)?
    /// How often a wait wakes to call ``peerCheck`` even without a doorbell.
    @exclusivity(unchecked) public var checkInterval: Duration = .milliseconds(100)
    /// Fault injection for the stub: asked per element sent (1-based count of elements).
    @exclusivity(unchecked) public var sendFault: ((Int) -> (corruptChecksum: Bool, skipSequence: Bool))?
    /// Elements sent so far through this endpoint.
    @exclusivity(unchecked) public private(set) var elementsSent = 0
    /// A lower bound of the free pages in this side's queue: free space only grows behind our
    /// back, so the peer's read pointer (a cache line the peer keeps writing) is read again only
    /// when this runs short.
    @exclusivity(unchecked) private var knownFreePages = 0

    public init(mapping: SharedMapping, side: GSPSide, spin: Int = 0) {
        self.mapping = mapping
        self.side = side
        ring = QueueRing(mapping: mapping, side: side)
        page = ControlPage(mapping)
        if side == .cpu {
            let c = page.cpuCounters
            (txSeqNum, rxSeqNum, rpcSequence) = (c.tx, c.rx, c.rpc)
        } else {
            (txSeqNum, rxSeqNum, rpcSequence) = (0, 0, 0)
        }
        self.spin = spin
    }

    private func saveCounters() {
        if side == .cpu { page.cpuCounters = (txSeqNum, rxSeqNum, rpcSequence) }
    }

    /// The doorbells: the peer's data doorbell (rung after writing), the peer's space doorbell
    /// (rung after consuming), and this side's own two.
    private var peerDoorbell: Doorbell { page.doorbell(waitedOnBy: side.peer) }
    private var peerSpaceDoorbell: Doorbell { page.spaceDoorbell(waitedOnBy: side.peer) }

    /// Waits until `condition` holds, the peer is gone, or `deadline` passes, sleeping on this
    /// side's data doorbell (or its space doorbell, with `forSpace`).
    public func wait(
        for what: @autoclosure () -> String, until deadline: ContinuousClock.Instant,
        forSpace: Bool = false, _ condition: () -> Bool
    ) throws(GSPError) {
        if condition() { return }
        let start = ContinuousClock.now
        let bell = forSpace ? page.spaceDoorbell(waitedOnBy: side) : page.doorbell(waitedOnBy: side)
        while true {
            let slice = min(deadline, ContinuousClock.now + checkInterval)
            if bell.wait(until: slice, spin: spin, condition) { return }
            if let gone = peerCheck?() { throw .peerGone(gone, waitingFor: what()) }
            if ContinuousClock.now >= deadline {
                if condition() { return }
                throw .timeout(waitingFor: what(), after: start.duration(to: deadline))
            }
        }
    }

    // MARK: Sending

    /// Sends one message: a head element with `function`, then continuation records while
    /// payload remains. Each element waits for ring space until `deadline`.
    @discardableResult
    public func send(
        function: RPCFunction, payload: [UInt8], sequence: UInt32,
        rpcResult: UInt32 = RPCHeader.resultPending, rpcResultPrivate: UInt32 = RPCHeader.resultPending,
        until deadline: ContinuousClock.Instant
    ) throws(GSPError) -> SentMessage {
        let chunk = GspMemLayout.maxPayloadPerElement
        let count = max(1, (payload.count + chunk - 1) / chunk)
        // A message that fits in the ring is written whole and published once, so the reader
        // wakes once for it; a larger one is published element by element as space frees up.
        let allPages = (0..<count).reduce(0) {
            $0 + GspMemLayout.elementPages(payload: min(chunk, payload.count - $1 * chunk))
        }
        let together = allPages <= GspMemLayout.msgCount - 1
        if together {
            if knownFreePages < allPages {
                knownFreePages = ring.freePages
                if knownFreePages < allPages {
                    try wait(
                        for:
                            "\(allPages) free page(s) in the \(side == .cpu ? "command" : "status") queue to send \(function.name)",
                        until: deadline, forSpace: true
                    ) { ring.freePages >= allPages }
                    knownFreePages = ring.freePages
                }
            }
            knownFreePages -= allPages
        } else {
            knownFreePages = 0
        }
        var sent: SentMessage?
        var page = ring.writePage
        for index in 0..<count {
            let offset = index * chunk
            let n = min(chunk, payload.count - offset)
            let f = index == 0 ? function : .continuationRecord
            let rpc = RPCHeader(
                length: UInt32(RPCHeader.size + n), function: f, rpcResult: rpcResult,
                rpcResultPrivate: rpcResultPrivate, sequence: sequence &+ UInt32(index))
            let pages = GspMemLayout.elementPages(payload: n)
            if !together {
                try wait(
                    for: "\(pages) free page(s) in the \(side == .cpu ? "command" : "status") queue to send \(f.name)",
                    until: deadline, forSpace: true
                ) { ring.freePages >= pages }
            }
            elementsSent += 1
            let fault = sendFault?(elementsSent) ?? (corruptChecksum: false, skipSequence: false)
            if fault.skipSequence { txSeqNum &+= 1 }
            let (record, next) = payload.withUnsafeBytes { all in
                ring.writeElement(
                    at: page, seqNum: txSeqNum, rpc: rpc,
                    payload: UnsafeRawBufferPointer(rebasing: all[offset..<(offset + n)]),
                    corruptChecksum: fault.corruptChecksum)
            }
            page = next
            txSeqNum &+= 1
            saveCounters()
            if !together {
                ring.publish(upTo: page)
                peerDoorbell.ring()
            }
            if var s = sent {
                s.continuations.append(record)
                sent = s
            } else {
                sent = SentMessage(head: record)
            }
        }
        if together {
            ring.publish(upTo: page)
            peerDoorbell.ring()
        }
        // `count` is at least 1, so the loop made the head element.
        guard let sent else { preconditionFailure("GSPEndpoint.send wrote no element") }
        return sent
    }

    // MARK: Receiving

    /// Whether an element is waiting to be read.
    public var hasPending: Bool { ring.pendingPages > 0 }

    /// Waits for the next element and checks its header, without consuming it.
    private func nextElement(until deadline: ContinuousClock.Instant, waitingFor what: @autoclosure () -> String)
        throws(GSPError) -> QueueRing.Peeked
    {
        try wait(for: what(), until: deadline) { ring.pendingPages > 0 }
        let element: QueueRing.Peeked?
        do { element = try ring.peek() } catch { throw .badElement(error, from: side.peer) }
        guard let element else { throw .protocolViolation("a published element vanished") }
        return element
    }

    /// Consumes a peeked element and tells the peer the space is free.
    private func consume(_ e: QueueRing.Peeked) {
        ring.consume(pages: Int(e.elemCount))
        rxSeqNum &+= 1
        saveCounters()
        peerSpaceDoorbell.ring()
    }

    /// Receives one element: waits until `deadline`, checks it, consumes it.
    public func receiveElement(until deadline: ContinuousClock.Instant, waitingFor what: @autoclosure () -> String)
        throws(GSPError) -> ReceivedElement
    {
        try wait(for: what(), until: deadline) { ring.pendingPages > 0 }
        let element: ReceivedElement?
        do { element = try ring.peekElement(expectedSeqNum: rxSeqNum) } catch {
            throw .badElement(error, from: side.peer)
        }
        guard let element else { throw .protocolViolation("a published element vanished") }
        ring.consume(pages: Int(element.header.elemCount))
        rxSeqNum &+= 1
        saveCounters()
        peerSpaceDoorbell.ring()
        return element
    }

    /// Receives one message, joining continuation records. Each payload byte is copied once,
    /// from the ring into the result, and checksummed in the same pass. `expectedTotal` is the
    /// whole payload size when the caller knows it (a reply as large as its request);
    /// otherwise it comes from ``RPCPayloadSize``.
    public func receive(
        until deadline: ContinuousClock.Instant, waitingFor what: @autoclosure () -> String,
        expectedTotal: ((RPCFunction) -> Int?)? = nil
    ) throws(GSPError) -> GSPMessage {
        let head = try nextElement(until: deadline, waitingFor: what())
        let ring = self.ring
        let total =
            expectedTotal?(head.rpc.function)
            ?? RPCPayloadSize.total(of: head.rpc.function, headLength: head.payloadLength) {
                ring.payloadWord(of: head, at: $0)
            }
            ?? head.payloadLength
        guard head.payloadLength <= total else {
            throw .protocolViolation(
                "\(head.rpc.function.name) carries \(head.payloadLength) payload bytes, more than the \(total) its header declares"
            )
        }
        var continuations: [ElementRecord] = []
        var failure: GSPError?
        let payload = [UInt8](unsafeUninitializedCapacity: total) { buf, filled in
            filled = 0
            do throws(GSPError) {
                var e = head
                var isHead = true
                while true {
                    if !isHead {
                        guard e.rpc.function == .continuationRecord else {
                            throw .protocolViolation(
                                "expected CONTINUATION_RECORD \(continuations.count + 1) of \(head.rpc.function.name) (\(filled) of \(total) bytes received), got \(e.rpc.function.name)"
                            )
                        }
                        guard filled + e.payloadLength <= total else {
                            throw .protocolViolation(
                                "continuation records of \(head.rpc.function.name) carry more than the \(total) bytes declared"
                            )
                        }
                    }
                    do throws(QueueFault) {
                        try ring.readPayload(
                            of: e, expectedSeqNum: rxSeqNum,
                            into: buf.baseAddress.map { UnsafeMutableRawPointer($0) + filled })
                    } catch {
                        throw .badElement(error, from: side.peer)
                    }
                    filled += e.payloadLength
                    consume(e)
                    if !isHead { continuations.append(e.record) }
                    isHead = false
                    if filled >= total { break }
                    e = try nextElement(
                        until: deadline,
                        waitingFor:
                            "CONTINUATION_RECORD \(continuations.count + 1) of \(head.rpc.function.name) (\(filled) of \(total) bytes)"
                    )
                }
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        return GSPMessage(
            function: head.rpc.function, sequence: head.rpc.sequence, rpcResult: head.rpc.rpcResult,
            rpcResultPrivate: head.rpc.rpcResultPrivate, payload: payload, head: head.record,
            continuations: continuations)
    }

    /// Takes the next RPC sequence numbers for a message of `elements` elements.
    public func takeRPCSequence(elements: Int) -> UInt32 {
        let s = rpcSequence
        rpcSequence &+= UInt32(max(elements, 1))
        saveCounters()
        return s
    }
}
