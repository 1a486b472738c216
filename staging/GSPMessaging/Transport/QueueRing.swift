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
    /// Where the write pointer sits in a queue's tx header: `writePtr` (0x10) for r570.144;
    /// for r000_00, whose `msgqTxHeader` has no `writePtr`, ``GspMemLayout/gmcWritePtrOffset``.
    let writePtrOffset: Int

    public init(mapping: SharedMapping, side: GSPSide, format: GSPWireFormat = .r570_144) {
        self.mapping = mapping
        self.side = side
        txQueue = GspMemLayout.queueOffset(writtenBy: side)
        rxQueue = GspMemLayout.queueOffset(writtenBy: side.peer)
        writePtrOffset = format == .r570_144 ? GspMemLayout.writePtrOffset : GspMemLayout.gmcWritePtrOffset
    }

    // The four pointers.
    var myWritePtr: UnsafeMutablePointer<UInt32> { mapping.u32(txQueue + writePtrOffset) }
    var myReadPtr: UnsafeMutablePointer<UInt32> { mapping.u32(txQueue + GspMemLayout.rxHeaderOffset) }
    var peerWritePtr: UnsafeMutablePointer<UInt32> { mapping.u32(rxQueue + writePtrOffset) }
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

    @inline(__always) private func ringBase(_ queue: Int) -> UnsafeMutableRawPointer {
        mapping.base + queue + GspMemLayout.entryOffset
    }

    /// The one or two byte ranges of `count` bytes starting at ring offset `start` in `queue`
    /// (the second is empty unless the range wraps).
    @inline(__always)
    func segments(_ queue: Int, start: Int, count: Int) -> (
        UnsafeMutableRawBufferPointer, UnsafeMutableRawBufferPointer
    ) {
        let ring = GspMemLayout.ringSize
        let first = min(count, ring - start)
        return (
            UnsafeMutableRawBufferPointer(start: ringBase(queue) + start, count: first),
            UnsafeMutableRawBufferPointer(start: ringBase(queue), count: count - first)
        )
    }

    func copyIn(_ queue: Int, at start: Int, _ src: UnsafeRawBufferPointer) {
        guard src.count > 0 else { return }
        let (a, b) = segments(queue, start: start, count: src.count)
        a.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[..<a.count]))
        if b.count > 0 { b.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[a.count...])) }
    }

    func copyOut(_ queue: Int, at start: Int, count: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count)
        let (a, b) = segments(queue, start: start, count: count)
        out.append(contentsOf: UnsafeRawBufferPointer(a))
        out.append(contentsOf: UnsafeRawBufferPointer(b))
        return out
    }

    func checksum(_ queue: Int, at start: Int, count: Int) -> UInt32 {
        let (a, b) = segments(queue, start: start, count: count)
        return GSPChecksum.compute(UnsafeRawBufferPointer(a), UnsafeRawBufferPointer(b))
    }

    // MARK: Send

    /// Writes one element carrying `payload` at the write pointer and publishes it. The caller
    /// has checked that ``freePages`` covers it. `corruptChecksum` flips the stored checksum
    /// (a fault switch of the stub).
    @discardableResult
    public func writeElement(
        seqNum: UInt32, rpc: RPCHeader, payload: UnsafeRawBufferPointer,
        corruptChecksum: Bool = false
    ) -> ElementRecord {
        let (record, next) = writeElement(
            at: writePage, seqNum: seqNum, rpc: rpc, payload: payload, corruptChecksum: corruptChecksum)
        publish(upTo: next)
        return record
    }

    /// The page the next element goes to (this side's write pointer).
    public var writePage: Int { Int(vgpuctl_load_acquire_u32(myWritePtr) % Self.count) }

    /// Publishes every element written up to page `next` (release store of the write pointer),
    /// so that a message's elements can become visible together.
    public func publish(upTo next: Int) {
        vgpuctl_store_release_u32(myWritePtr, UInt32(next % Int(Self.count)))
    }

    /// Writes one element at page `w` without publishing it; returns its record and the page
    /// after it. The caller has checked the space.
    public func writeElement(
        at w: Int, seqNum: UInt32, rpc: RPCHeader, payload: UnsafeRawBufferPointer,
        corruptChecksum: Bool = false
    ) -> (ElementRecord, next: Int) {
        let pages = GspMemLayout.elementPages(payload: payload.count)
        let start = w * GspMemLayout.pageSize
        // The two headers never wrap: an element starts on a page and they take 0x50 bytes.
        let h = ringBase(txQueue) + start
        h.initializeMemory(as: UInt8.self, repeating: 0, count: GspMemLayout.elementHeadersSize)
        func put(_ off: Int, _ v: UInt32) { h.storeBytes(of: v.littleEndian, toByteOffset: off, as: UInt32.self) }
        put(ElementHeader.seqNumOffset, seqNum)
        put(ElementHeader.elemCountOffset, UInt32(pages))
        let r = ElementHeader.size
        put(r, rpc.headerVersion)
        put(r + 4, rpc.signature)
        put(r + 8, rpc.length)
        put(r + 12, rpc.function.rawValue)
        put(r + 16, rpc.rpcResult)
        put(r + 20, rpc.rpcResultPrivate)
        put(r + 24, rpc.sequence)
        put(r + 28, rpc.spare)
        // Payload in, checksummed on the way (headers first, then the payload in one pass).
        var state = GSPChecksum.State()
        state.add(UnsafeRawBufferPointer(start: h, count: GspMemLayout.elementHeadersSize))
        if payload.count > 0, let p = payload.baseAddress {
            let (a, b) = segments(txQueue, start: start + GspMemLayout.elementHeadersSize, count: payload.count)
            if let pa = a.baseAddress { state.copy(from: p, to: pa, count: a.count) }
            if b.count > 0, let pb = b.baseAddress { state.copy(from: p + a.count, to: pb, count: b.count) }
        }
        var sum = state.value
        if corruptChecksum { sum ^= 0xDEAD_BEEF }
        put(ElementHeader.checkSumOffset, sum)
        return (
            ElementRecord(
                seqNum: seqNum, elemCount: UInt32(pages), function: rpc.function,
                length: rpc.length, rpcResult: rpc.rpcResult, sequence: rpc.sequence),
            (w + pages) % Int(Self.count)
        )
    }

    // MARK: Receive

    /// The element at the read pointer, checked but not copied: see ``appendPayload(of:to:)``.
    public struct Peeked: Sendable {
        public var seqNum: UInt32
        public var elemCount: UInt32
        public var checkSum: UInt32
        public var rpc: RPCHeader
        public var page: Int
        public var payloadLength: Int { Int(rpc.length) - RPCHeader.size }
        public var record: ElementRecord {
            ElementRecord(
                seqNum: seqNum, elemCount: elemCount, function: rpc.function, length: rpc.length,
                rpcResult: rpc.rpcResult, sequence: rpc.sequence)
        }
    }

    /// Checks the header of the element at the read pointer without consuming it: RPC header
    /// (signature, version, length), `elemCount` against the length and against the published
    /// pages. The checksum and the sequence number are checked when the payload is read
    /// (``readPayload(of:expectedSeqNum:into:)``). Nil when none is pending.
    public func peek() throws(QueueFault) -> Peeked? {
        let pending = pendingPages
        guard pending > 0 else { return nil }
        let r = Int(vgpuctl_load_acquire_u32(myReadPtr) % Self.count)
        let start = r * GspMemLayout.pageSize
        let h = UnsafeRawPointer(ringBase(rxQueue) + start)
        func get(_ off: Int) -> UInt32 { UInt32(littleEndian: h.loadUnaligned(fromByteOffset: off, as: UInt32.self)) }
        let seqNum = get(ElementHeader.seqNumOffset)
        let elemCount = get(ElementHeader.elemCountOffset)
        let o = ElementHeader.size
        var rpc = RPCHeader(
            length: get(o + 8), function: RPCFunction(get(o + 12)), rpcResult: get(o + 16),
            rpcResultPrivate: get(o + 20), sequence: get(o + 24))
        rpc.headerVersion = get(o)
        rpc.signature = get(o + 4)
        rpc.spare = get(o + 28)
        if let problem = rpc.problem() { throw QueueFault(page: r, seqNum: seqNum, problem) }
        var what: String { rpc.function.name }
        let total = ElementHeader.size + Int(rpc.length)
        let pages = (total + GspMemLayout.pageSize - 1) / GspMemLayout.pageSize
        guard elemCount == UInt32(pages) else {
            throw QueueFault(
                page: r, seqNum: seqNum, function: what,
                "elemCount is \(elemCount) but the RPC length \(hex0x(rpc.length)) needs \(pages) page(s)")
        }
        guard pages <= pending else {
            throw QueueFault(
                page: r, seqNum: seqNum, function: what,
                "element claims \(pages) page(s) but only \(pending) are published")
        }
        return Peeked(
            seqNum: seqNum, elemCount: elemCount, checkSum: get(ElementHeader.checkSumOffset), rpc: rpc, page: r)
    }

    /// The little-endian `UInt32` at `offset` of a peeked element's payload (offset + 4 must lie
    /// within the payload and within the element's first page), 0 when out of range.
    public func payloadWord(of e: Peeked, at offset: Int) -> UInt32 {
        guard offset + 4 <= e.payloadLength, GspMemLayout.elementHeadersSize + offset + 4 <= GspMemLayout.pageSize
        else { return 0 }
        let p = UnsafeRawPointer(
            ringBase(rxQueue) + e.page * GspMemLayout.pageSize + GspMemLayout.elementHeadersSize + offset)
        return UInt32(littleEndian: p.loadUnaligned(as: UInt32.self))
    }

    /// Copies a peeked element's payload to `dst` (which has room for it), checking in the same
    /// pass that the whole element sums to 0, then checks its sequence number.
    public func readPayload(of e: Peeked, expectedSeqNum: UInt32, into dst: UnsafeMutableRawPointer?) throws(QueueFault)
    {
        let start = e.page * GspMemLayout.pageSize
        var state = GSPChecksum.State()
        state.add(UnsafeRawBufferPointer(start: ringBase(rxQueue) + start, count: GspMemLayout.elementHeadersSize))
        let (a, b) = segments(rxQueue, start: start + GspMemLayout.elementHeadersSize, count: e.payloadLength)
        if a.count > 0, let dst, let pa = a.baseAddress { state.copy(from: pa, to: dst, count: a.count) }
        if b.count > 0, let dst, let pb = b.baseAddress { state.copy(from: pb, to: dst + a.count, count: b.count) }
        guard state.value == 0 else {
            throw QueueFault(
                page: e.page, seqNum: e.seqNum, function: e.rpc.function.name,
                "bad checksum: the element sums to \(hex0x(state.value)), not 0 (checkSum field \(hex0x(e.checkSum)))")
        }
        guard e.seqNum == expectedSeqNum else {
            throw QueueFault(
                page: e.page, seqNum: e.seqNum, function: e.rpc.function.name,
                "sequence number \(e.seqNum), expected \(expectedSeqNum)")
        }
    }

    /// Reads and checks the element at the read pointer without consuming it, payload copied.
    public func peekElement(expectedSeqNum: UInt32) throws(QueueFault) -> ReceivedElement? {
        guard let p = try peek() else { return nil }
        var header = ElementHeader(seqNum: p.seqNum, elemCount: p.elemCount)
        header.checkSum = p.checkSum
        var fault: QueueFault?
        let payload = [UInt8](unsafeUninitializedCapacity: p.payloadLength) { buf, n in
            do throws(QueueFault) {
                try readPayload(
                    of: p, expectedSeqNum: expectedSeqNum, into: buf.baseAddress.map { UnsafeMutableRawPointer($0) })
                n = p.payloadLength
            } catch {
                fault = error
                n = 0
            }
        }
        if let fault { throw fault }
        return ReceivedElement(header: header, rpc: p.rpc, payload: payload, page: p.page)
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
