import HostKit

/// A decoded `GspMem` dump (the shared file, or a memory dump of one): both queues' headers
/// and every pending message of each, from the consumer's read pointer to the producer's
/// write pointer, wrapping.
///
/// The JSON form is exactly `{"cmdQueue": {"writePtr", "readPtr", "messages": [...]},
/// "msgQueue": {...}}`, each message with `seqNum`, `elemCount`, `function`, `functionName`,
/// `length` (the RPC header's) , `rpcResult` and `checksumValid`; the other fields are for the
/// text form.
public struct GspMemDump: Codable, Sendable {
    public struct Message: Codable, Sendable {
        public var seqNum: UInt32
        public var elemCount: UInt32
        public var function: UInt32
        public var functionName: String
        public var length: UInt32
        public var rpcResult: UInt32
        public var checksumValid: Bool
        /// Not in JSON: where it starts in the file, its page, and its RPC sequence.
        public var fileOffset = 0
        public var page = 0
        public var sequence: UInt32 = 0

        enum CodingKeys: String, CodingKey {
            case seqNum, elemCount, function, functionName, length, rpcResult, checksumValid
        }
    }

    public struct Queue: Codable, Sendable {
        public var writePtr: UInt32
        public var readPtr: UInt32
        public var messages: [Message]
        /// Not in JSON: the producer's tx header, its file offset, and whether it is all zero
        /// (the owner has not initialised the queue).
        public var header = MsgqTxHeader()
        public var offset = 0
        public var initialized = true

        enum CodingKeys: String, CodingKey { case writePtr, readPtr, messages }
    }

    public var cmdQueue: Queue
    public var msgQueue: Queue

    /// Decodes `bytes`, read from `name`. A file too short for GspMem, a queue header that is
    /// neither zero nor the standard geometry, a pointer out of range, or a pending element
    /// with a broken header is invalid input: the error names the file offset and the problem.
    /// A bad checksum is not: it shows as `checksumValid: false`.
    public static func decode(_ bytes: [UInt8], name: String) throws(GSPMessagingError) -> GspMemDump {
        guard bytes.count >= GspMemLayout.gspMemSize else {
            throw .invalid(
                .badDump,
                "\(name) is truncated: it ends at offset \(hex0x(bytes.count)), inside \(region(at: bytes.count)); a GspMem dump is \(hex0x(GspMemLayout.gspMemSize)) bytes (PTE page, command queue at 0x1000, status queue at 0x41000)"
            )
        }
        let cmd = try queue(
            bytes, name: name, label: "command queue (cpuq)", at: GspMemLayout.cpuQueueOffset,
            readerAt: GspMemLayout.gspQueueOffset + GspMemLayout.rxHeaderOffset)
        let msg = try queue(
            bytes, name: name, label: "status queue (gspq)", at: GspMemLayout.gspQueueOffset,
            readerAt: GspMemLayout.cpuQueueOffset + GspMemLayout.rxHeaderOffset)
        return GspMemDump(cmdQueue: cmd, msgQueue: msg)
    }

    /// What lies at `offset` of a GspMem, in words.
    static func region(at offset: Int) -> String {
        func inQueue(_ q: Int, _ label: String) -> String {
            let o = offset - q
            if o < MsgqTxHeader.size { return "the \(label) tx header (at \(hex0x(q)))" }
            if o < GspMemLayout.rxHeaderOffset + 4 {
                return "the \(label) rx header (at \(hex0x(q + GspMemLayout.rxHeaderOffset)))"
            }
            if o < GspMemLayout.entryOffset { return "the \(label) header page" }
            return "page \((o - GspMemLayout.entryOffset) / GspMemLayout.pageSize) of the \(label) ring"
        }
        if offset < GspMemLayout.cpuQueueOffset { return "the PTE page" }
        if offset < GspMemLayout.gspQueueOffset { return inQueue(GspMemLayout.cpuQueueOffset, "command queue") }
        return inQueue(GspMemLayout.gspQueueOffset, "status queue")
    }

    static func queue(_ b: [UInt8], name: String, label: String, at q: Int, readerAt: Int) throws(GSPMessagingError)
        -> Queue
    {
        let h = MsgqTxHeader(decoding: b, at: q)
        let readPtr = b.le32(readerAt)
        if h.isZero {
            return Queue(writePtr: 0, readPtr: readPtr, messages: [], header: h, offset: q, initialized: false)
        }
        if let p = h.geometryProblem {
            throw .invalid(
                .badDump,
                "\(name): at offset \(hex0x(q + p.offset)): the \(label) tx header's \(p.field) is \(hex0x(p.value)), expected \(p.expected)"
            )
        }
        guard readPtr < h.msgCount else {
            throw .invalid(
                .badDump,
                "\(name): at offset \(hex0x(readerAt)): the \(label)'s read pointer is \(hex0x(readPtr)), beyond msgCount \(hex0x(h.msgCount))"
            )
        }
        let count = Int(h.msgCount)
        var pending = (Int(h.writePtr) + count - Int(readPtr)) % count
        var page = Int(readPtr)
        var messages: [Message] = []
        let ring = q + GspMemLayout.entryOffset
        func byteAt(_ ringOffset: Int) -> UInt8 { b[ring + ringOffset % GspMemLayout.ringSize] }
        while pending > 0 {
            let start = page * GspMemLayout.pageSize
            let fileOffset = ring + start
            let head = Array(b[fileOffset..<(fileOffset + GspMemLayout.elementHeadersSize)])
            let eh = ElementHeader(decoding: head)
            let rpc = RPCHeader(decoding: head, at: ElementHeader.size)
            if let problem = rpc.problem() {
                throw .invalid(
                    .badDump,
                    "\(name): at offset \(hex0x(fileOffset + ElementHeader.size)): \(label) element at page \(page) (seqNum \(eh.seqNum)): \(problem)"
                )
            }
            let total = ElementHeader.size + Int(rpc.length)
            let pages = (total + GspMemLayout.pageSize - 1) / GspMemLayout.pageSize
            guard eh.elemCount == UInt32(pages) else {
                throw .invalid(
                    .badDump,
                    "\(name): at offset \(hex0x(fileOffset + ElementHeader.elemCountOffset)): \(label) element at page \(page): elemCount is \(eh.elemCount) but its RPC length \(hex0x(rpc.length)) needs \(pages)"
                )
            }
            guard pages <= pending else {
                throw .invalid(
                    .badDump,
                    "\(name): at offset \(hex0x(fileOffset + ElementHeader.elemCountOffset)): \(label) element at page \(page) spans \(pages) pages but only \(pending) are pending before the write pointer \(h.writePtr)"
                )
            }
            let bytes = (0..<total).map { byteAt(start + $0) }
            messages.append(
                Message(
                    seqNum: eh.seqNum, elemCount: eh.elemCount, function: rpc.function.rawValue,
                    functionName: rpc.function.name, length: rpc.length, rpcResult: rpc.rpcResult,
                    checksumValid: GSPChecksum.compute(bytes) == 0,
                    fileOffset: fileOffset, page: page, sequence: rpc.sequence))
            page = (page + pages) % count
            pending -= pages
        }
        return Queue(
            writePtr: h.writePtr, readPtr: readPtr, messages: messages, header: h, offset: q, initialized: true)
    }
}
