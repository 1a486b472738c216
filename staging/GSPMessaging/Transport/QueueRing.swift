import CGSPMessaging
import HostKit

/// One element as it sits in a queue, checked and copied out.
public struct ReceivedElement: Sendable {
    public var header: ElementHeader
    public var rpc: RPCHeader
    /// The RPC payload this element carries (`rpc.length - 32` bytes).
    public var payload: [UInt8]
    /// Page index of the element in its ring.
    public var page: Int
}

/// A record of one element sent or received, for transcripts.
public struct ElementRecord: Codable, Equatable, Sendable {
    public var seqNum: UInt32
    public var elemCount: UInt32
    public var function: RPCFunction
    /// The RPC header's `length` (RPC header + payload in this element).
    public var length: UInt32
    public var rpcResult: UInt32
    public var sequence: UInt32
}

/// One side's view of the two rings in a `GspMem` mapping: it writes its own queue and reads
/// the peer's.
///
/// Pointers are page indices modulo `msgCount`. The writer owns the pages from its write
/// pointer up to one before the reader's read pointer (one page always stays empty, so full
/// and empty differ); the reader owns the pages from its read pointer up to the writer's
/// write pointer. Each side's rx header records how far it has read the *other* queue. The
/// write pointer is published with a release store after the element's bytes, and read with
/// an acquire load before them; read pointers likewise.
public struct QueueRing {
    public let side: GSPSide
    let mapping: SharedMapping
    /// Start of the queue this side writes, and of the one it reads.
    let txQueue: Int, rxQueue: Int

    public init(mapping: SharedMapping, side: GSPSide) {
        self.mapping = mapping
        self.side = side
        txQueue = GspMemLayout.queueOffset(writtenBy: side)
        rxQueue = GspMemLayout.queueOffset(writtenBy: side.peer)
    }

    // The four pointers.
    var myWritePtr: UnsafeMutablePointer<UInt32> { mapping.u32(txQueue + GspMemLayout.writePtrOffset) }
    var myReadPtr: UnsafeMutablePointer<UInt32> { mapping.u32(txQueue + GspMemLayout.rxHeaderOffset) }
    var peerWritePtr: UnsafeMutablePointer<UInt32> { mapping.u32(rxQueue + GspMemLayout.writePtrOffset) }
    var peerReadPtr: UnsafeMutablePointer<UInt32> { mapping.u32(rxQueue + GspMemLayout.rxHeaderOffset) }

    static let count = UInt32(GspMemLayout.msgCount)

    /// Writes the standard tx header and a zero rx header into this side's queue (what each
    /// side does to its own queue before use; the GSP's doing so is "linking").
    public func initializeOwnQueue() {
        mapping.write(txQueue, MsgqTxHeader().encoded)
        vgpuctl_store_release_u32(myReadPtr, 0)
    }

    /// Whether the peer has initialised its queue (its tx header has the standard geometry).
    public var peerQueueLinked: Bool {
        let h = MsgqTxHeader(decoding: mapping.bytes(rxQueue, MsgqTxHeader.size))
        return h.entryOff == UInt32(GspMemLayout.entryOffset) && h.msgCount == Self.count
    }

    /// Pages this side may write now.
    public var freePages: Int {
        let w = vgpuctl_load_acquire_u32(myWritePtr) % Self.count
        let r = vgpuctl_load_acquire_u32(peerReadPtr) % Self.count
        return Int((r + Self.count - w - 1) % Self.count)
    }

    /// Pages the peer has written that this side has not read.
    public var pendingPages: Int {
        let w = vgpuctl_load_acquire_u32(peerWritePtr) % Self.count
        let r = vgpuctl_load_acquire_u32(myReadPtr) % Self.count
        return Int((w + Self.count - r) % Self.count)
    }

    // MARK: Ring byte access (wrapping)

    private func ringBase(_ queue: Int) -> UnsafeMutableRawPointer { mapping.base + queue + GspMemLayout.entryOffset }

    /// The one or two byte ranges of `count` bytes starting at ring offset `start` in `queue`.
    func segments(_ queue: Int, start: Int, count: Int) -> [UnsafeMutableRawBufferPointer] {
        let ring = GspMemLayout.ringSize
        let first = min(count, ring - start)
        var out = [UnsafeMutableRawBufferPointer(start: ringBase(queue) + start, count: first)]
        if count > first { out.append(UnsafeMutableRawBufferPointer(start: ringBase(queue), count: count - first)) }
        return out
    }

    func copyIn(_ queue: Int, at start: Int, _ src: UnsafeRawBufferPointer) {
        var done = 0
        for seg in segments(queue, start: start, count: src.count) {
            seg.baseAddress!.copyMemory(from: src.baseAddress! + done, byteCount: seg.count)
            done += seg.count
        }
    }

    func copyOut(_ queue: Int, at start: Int, count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { dst in
            var done = 0
            for seg in segments(queue, start: start, count: count) {
                (dst.baseAddress! + done).copyMemory(from: UnsafeRawPointer(seg.baseAddress!), byteCount: seg.count)
                done += seg.count
            }
        }
        return out
    }

    // MARK: Send

    /// Writes one element carrying `payload` at the write pointer and publishes it. The caller
    /// has checked that ``freePages`` covers it. `corruptChecksum` flips the stored checksum
    /// (a fault switch of the stub).
    @discardableResult
    public func writeElement(seqNum: UInt32, rpc: RPCHeader, payload: UnsafeRawBufferPointer,
                             corruptChecksum: Bool = false) -> ElementRecord {
        let pages = GspMemLayout.elementPages(payload: payload.count)
        let w = Int(vgpuctl_load_acquire_u32(myWritePtr) % Self.count)
        let start = w * GspMemLayout.pageSize
        let headerBytes = ElementHeader(seqNum: seqNum, elemCount: UInt32(pages)).encoded + rpc.encoded
        headerBytes.withUnsafeBytes { copyIn(txQueue, at: start, $0) }
        if payload.count > 0 { copyIn(txQueue, at: start + GspMemLayout.elementHeadersSize, payload) }
        let total = GspMemLayout.elementHeadersSize + payload.count
        var sum = GSPChecksum.compute(segments(txQueue, start: start, count: total).map { UnsafeRawBufferPointer($0) })
        if corruptChecksum { sum ^= 0xDEAD_BEEF }
        (ringBase(txQueue) + start + ElementHeader.checkSumOffset).storeBytes(of: sum.littleEndian, as: UInt32.self)
        vgpuctl_store_release_u32(myWritePtr, UInt32((w + pages) % Int(Self.count)))
        return ElementRecord(seqNum: seqNum, elemCount: UInt32(pages), function: rpc.function,
                             length: rpc.length, rpcResult: rpc.rpcResult, sequence: rpc.sequence)
    }

    // MARK: Receive

    /// Reads and checks the element at the read pointer without consuming it. Nil when none
    /// is pending. `expectedSeqNum` is the element counter this side expects.
    public func peekElement(expectedSeqNum: UInt32) throws(QueueFault) -> ReceivedElement? {
        let pending = pendingPages
        guard pending > 0 else { return nil }
        let r = Int(vgpuctl_load_acquire_u32(myReadPtr) % Self.count)
        let start = r * GspMemLayout.pageSize
        let head = copyOut(rxQueue, at: start, count: GspMemLayout.elementHeadersSize)
        let header = ElementHeader(decoding: head)
        let rpc = RPCHeader(decoding: head, at: ElementHeader.size)
        if let problem = rpc.problem() { throw QueueFault(page: r, seqNum: header.seqNum, problem) }
        let what = rpc.function.name
        let total = ElementHeader.size + Int(rpc.length)
        let pages = (total + GspMemLayout.pageSize - 1) / GspMemLayout.pageSize
        guard header.elemCount == UInt32(pages) else {
            throw QueueFault(page: r, seqNum: header.seqNum, function: what, "elemCount is \(header.elemCount) but the RPC length \(hex0x(rpc.length)) needs \(pages) page(s)")
        }
        guard pages <= pending else {
            throw QueueFault(page: r, seqNum: header.seqNum, function: what, "element claims \(pages) page(s) but only \(pending) are published")
        }
        let sum = GSPChecksum.compute(segments(rxQueue, start: start, count: total).map { UnsafeRawBufferPointer($0) })
        guard sum == 0 else {
            throw QueueFault(page: r, seqNum: header.seqNum, function: what, "bad checksum: the element sums to \(hex0x(sum)), not 0 (checkSum field \(hex0x(header.checkSum)))")
        }
        guard header.seqNum == expectedSeqNum else {
            throw QueueFault(page: r, seqNum: header.seqNum, function: what, "sequence number \(header.seqNum), expected \(expectedSeqNum)")
        }
        let payload = copyOut(rxQueue, at: start + GspMemLayout.elementHeadersSize, count: Int(rpc.length) - RPCHeader.size)
        return ReceivedElement(header: header, rpc: rpc, payload: payload, page: r)
    }

    /// Consumes `pages` pages at the read pointer (release store), freeing them for the peer.
    public func consume(pages: Int) {
        let r = vgpuctl_load_acquire_u32(myReadPtr) % Self.count
        vgpuctl_store_release_u32(myReadPtr, (r + UInt32(pages)) % Self.count)
    }
}

/// A queue element that fails a receiver's checks: where it is and what is wrong.
public struct QueueFault: Error, Sendable, CustomStringConvertible {
    public var page: Int
    public var seqNum: UInt32
    /// The function named in the element's RPC header, when that header is sound.
    public var function: String?
    public var problem: String
    public init(page: Int, seqNum: UInt32, function: String? = nil, _ problem: String) {
        self.page = page
        self.seqNum = seqNum
        self.function = function
        self.problem = problem
    }
    public var description: String {
        "\(function.map { $0 + " " } ?? "")element at page \(page) (seqNum \(seqNum)): \(problem)"
    }
}
