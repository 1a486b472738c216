import CGSPMessaging
import Foundation

/// One end of the queues speaking the development firmware's wire format (r000_00): every
/// element is a ``GMCElement`` (MCTP/NVDM header, then a `GMCAPI_HEADER` or an RM RPC header)
/// starting on a page; there is no checksum and no `seqNum` — a reader rewrites the element's
/// `mctpMagic` to "SEEN" before it frees the pages. Ring geometry, read pointers and doorbells
/// are those of ``QueueRing``; the write pointer sits where ``GspMemLayout/gmcWritePtrOffset``
/// says (vgpuctl's choice: the bindings publish none). Messages larger than one element are
/// refused (the GMC API commands are small); every wait ends at a deadline.
public final class GMCEndpoint {
    public let side: GSPSide
    public let mapping: SharedMapping
    public let ring: QueueRing
    public let page: ControlPage
    /// `msgqTxHeader.versionMajor`/`versionMinor` this side writes (vgpuctl's: 1.0).
    public static let queueVersion: (major: UInt16, minor: UInt16) = (1, 0)
    /// Called while waiting: a sentence when the peer is gone, else nil.
    @exclusivity(unchecked) public var peerCheck: (() -> String?)?
    /// Elements sent and received through this endpoint.
    @exclusivity(unchecked) public private(set) var elementsSent = 0
    @exclusivity(unchecked) public private(set) var elementsReceived = 0

    public init(mapping: SharedMapping, side: GSPSide) {
        self.mapping = mapping
        self.side = side
        ring = QueueRing(mapping: mapping, side: side, format: .r000_00)
        page = ControlPage(mapping)
    }

    private var txQueue: Int { GspMemLayout.queueOffset(writtenBy: side) }
    private var rxQueue: Int { GspMemLayout.queueOffset(writtenBy: side.peer) }

    /// Writes the r000_00 tx header, a zero write pointer and a zero read pointer into this
    /// side's queue.
    public func initializeOwnQueue() {
        mapping.write(
            txQueue,
            GMCMsgqTxHeader(versionMajor: Self.queueVersion.major, versionMinor: Self.queueVersion.minor).encoded)
        vgpuctl_store_release_u32(mapping.u32(txQueue + GspMemLayout.gmcWritePtrOffset), 0)
        vgpuctl_store_release_u32(mapping.u32(txQueue + GspMemLayout.rxHeaderOffset), 0)
    }

    /// The peer's r000_00 tx header.
    public var peerTxHeader: GMCMsgqTxHeader {
        GMCMsgqTxHeader(decoding: mapping.bytes(rxQueue, GMCMsgqTxHeader.size))
    }

    /// Whether the peer has initialised its queue as r000_00 (version 1.x, standard geometry).
    public var peerQueueLinked: Bool {
        let h = peerTxHeader
        return h.versionMajor == Self.queueVersion.major && h.entryOff == UInt32(GspMemLayout.entryOffset)
            && h.msgCount == UInt32(GspMemLayout.msgCount)
    }

    /// Whether an element is waiting.
    public var hasPending: Bool { ring.pendingPages > 0 }

    /// Waits until `condition` holds, the peer is gone, or `deadline` passes.
    public func wait(
        for what: @autoclosure () -> String, until deadline: ContinuousClock.Instant, forSpace: Bool = false,
        _ condition: () -> Bool
    ) throws(GSPError) {
        if condition() { return }
        let start = ContinuousClock.now
        let bell = forSpace ? page.spaceDoorbell(waitedOnBy: side) : page.doorbell(waitedOnBy: side)
        while true {
            let slice = min(deadline, ContinuousClock.now + .milliseconds(100))
            if bell.wait(until: slice, spin: 0, condition) { return }
            if let gone = peerCheck?() { throw .peerGone(gone, waitingFor: what()) }
            if ContinuousClock.now >= deadline {
                if condition() { return }
                throw .timeout(waitingFor: what(), after: start.duration(to: deadline))
            }
        }
    }

    /// Sends one element: waits for its pages, copies it in at the write pointer, publishes it
    /// (release store) and rings the peer.
    public func send(_ element: GMCElement, until deadline: ContinuousClock.Instant) throws(GSPError) {
        let bytes = element.encoded
        guard bytes.count <= GspMemLayout.maxElementSize else {
            throw .tooLarge(
                "an r000_00 element of \(bytes.count) bytes exceeds the \(GspMemLayout.maxElementSize)-byte element limit"
            )
        }
        let pages = element.header.pages
        try wait(
            for: "\(pages) free page(s) in the \(side == .cpu ? "command" : "status") queue", until: deadline,
            forSpace: true
        ) { ring.freePages >= pages }
        let w = ring.writePage
        bytes.withUnsafeBytes { ring.copyIn(txQueue, at: w * GspMemLayout.pageSize, $0) }
        ring.publish(upTo: (w + pages) % GspMemLayout.msgCount)
        elementsSent += 1
        page.doorbell(waitedOnBy: side.peer).ring()
    }

    /// Receives one element: checks its MCTP/NVDM header as a receiver does
    /// (``GMCElementHeader/problem(available:)``), copies it out, marks it "SEEN", frees its pages.
    public func receive(until deadline: ContinuousClock.Instant, waitingFor what: @autoclosure () -> String)
        throws(GSPError) -> GMCElement
    {
        try wait(for: what(), until: deadline) { ring.pendingPages > 0 }
        let pending = ring.pendingPages
        let r = Int(
            vgpuctl_load_acquire_u32(mapping.u32(txQueue + GspMemLayout.rxHeaderOffset)) % UInt32(GspMemLayout.msgCount)
        )
        let start = r * GspMemLayout.pageSize
        let head = GMCElementHeader(decoding: ring.copyOut(rxQueue, at: start, count: GMCElementHeader.size))
        if let p = head.problem(available: pending * GspMemLayout.pageSize) {
            throw .badElement(QueueFault(page: r, seqNum: 0, p), from: side.peer)
        }
        let bytes = ring.copyOut(rxQueue, at: start, count: Int(head.mctpPayloadSize))
        let element: GMCElement
        do { element = try GMCElement(decoding: bytes) } catch {
            throw .badElement(QueueFault(page: r, seqNum: 0, error.problem), from: side.peer)
        }
        let magic = GMCElementHeader.magicSeen.littleEndian
        withUnsafeBytes(of: magic) { ring.copyIn(rxQueue, at: start, $0) }
        ring.consume(pages: head.pages)
        elementsReceived += 1
        page.spaceDoorbell(waitedOnBy: side.peer).ring()
        return element
    }
}
