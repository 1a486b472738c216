/// One whole r000_00 queue element: the MCTP/NVDM header and its message (a GMC API command
/// or response, or an RM RPC), as a driver writes it into a queue page and a reader takes it
/// out. Elements start on a page; a dump of a ring is its pages in order.
public struct GMCElement: Equatable, Sendable {
    public var header: GMCElementHeader
    /// Present when the NVDM type is GMCAPI.
    public var gmcapi: GMCAPIHeader?
    /// Present when the NVDM type is RM RPC.
    public var rpc: RPCHeader?
    /// The bytes after the GMC API or RPC header.
    public var payload: [UInt8]

    /// A GMC API element.
    public init(gmcapi: GMCAPIHeader, payload: [UInt8]) {
        header = GMCElementHeader(nvdm: .gmcapi, messageLength: GMCAPIHeader.size + payload.count)
        self.gmcapi = gmcapi
        self.payload = payload
    }

    /// The element's bytes (not padded to its pages).
    public var encoded: [UInt8] {
        header.encoded + (gmcapi?.encoded ?? rpc?.encoded ?? []) + payload
    }

    /// Decodes the element at `offset` of `bytes`; throws what a receiver would reject.
    public init(decoding bytes: [UInt8], at offset: Int = 0) throws(GMCDecodeError) {
        guard offset + GMCElementHeader.size <= bytes.count else {
            throw GMCDecodeError(
                offset: offset,
                "\(bytes.count - offset) bytes left, too short for the \(GMCElementHeader.size)-byte MCTP/NVDM header")
        }
        header = GMCElementHeader(decoding: bytes, at: offset)
        if let p = header.problem(available: bytes.count - offset) { throw GMCDecodeError(offset: offset, p) }
        let body = offset + GMCElementHeader.size
        let end = offset + Int(header.mctpPayloadSize)
        switch header.nvdmType {
        case .gmcapi?:
            guard end - body >= GMCAPIHeader.size else {
                throw GMCDecodeError(
                    offset: offset, "NVDM GMCAPI message of \(end - body) bytes is shorter than GMCAPI_HEADER (32)")
            }
            gmcapi = GMCAPIHeader(decoding: bytes, at: body)
            payload = Array(bytes[(body + GMCAPIHeader.size)..<end])
        case .rmRPC?:
            guard end - body >= RPCHeader.size else {
                throw GMCDecodeError(
                    offset: offset,
                    "NVDM RM RPC message of \(end - body) bytes is shorter than rpc_message_header_v (32)")
            }
            rpc = RPCHeader(decoding: bytes, at: body)
            payload = Array(bytes[(body + RPCHeader.size)..<end])
        case nil:
            throw GMCDecodeError(
                offset: offset,
                "NVDM type \(hex0x(UInt32(header.nvdmTypeValue))) is neither RM RPC (0x25) nor GMCAPI (0x26)")
        }
    }

    /// `GMCAPI_CMD_ASSIGN_VGPU_TYPE request seq 7: size 24, max_response_size 8`.
    public var summary: String {
        if let g = gmcapi {
            let name = GMCCommandTable.name(of: g.commandID)
            // A request's second word is a response room; a response's first is a status.
            return
                "\(header.nvdmType?.name ?? "?") \(name) seq \(g.sequence): word0 \(g.word0) (request size / response status), word1 \(g.word1) (request max_response_size / response size), \(payload.count) payload bytes"
        }
        if let r = rpc {
            return
                "\(header.nvdmType?.name ?? "?") \(r.function.name) sequence \(r.sequence): \(payload.count) payload bytes"
        }
        return "?"
    }
}

/// An r000_00 element a receiver rejects: where and why.
public struct GMCDecodeError: Error, Sendable, CustomStringConvertible {
    public var offset: Int
    public var problem: String
    public init(offset: Int, _ problem: String) {
        self.offset = offset
        self.problem = problem
    }
    public var description: String { "element at byte \(hex0x(UInt32(offset))): \(problem)" }
}

/// A dump of an r000_00 ring: elements page-aligned, one after the other, until a page that
/// does not start with "MCTP"/"SEEN" (an unused page). A dump shorter than 4 bytes, or whose
/// first page is not an element, is rejected.
public enum GMCQueueDump {
    /// The elements with their page numbers; stops at the first unused page, throws at the
    /// first bad element.
    public static func decode(_ bytes: [UInt8]) throws(GMCDecodeError) -> [(page: Int, element: GMCElement)] {
        guard bytes.count >= 4 else {
            throw GMCDecodeError(offset: 0, "\(bytes.count) bytes: too short for an MCTP/NVDM element")
        }
        var out: [(Int, GMCElement)] = []
        var page = 0
        while page * GspMemLayout.pageSize + 4 <= bytes.count {
            let at = page * GspMemLayout.pageSize
            let magic = bytes.le32(at)
            if magic != GMCElementHeader.magic && magic != GMCElementHeader.magicSeen {
                // An unused page ends the ring; a dump that starts with one is no ring dump.
                if page == 0 {
                    throw GMCDecodeError(
                        offset: 0,
                        "mctpMagic is \(hex0x(magic)), not \(hex0x(GMCElementHeader.magic)) (\"MCTP\") or \(hex0x(GMCElementHeader.magicSeen)) (\"SEEN\"): not an r000_00 ring dump"
                    )
                }
                break
            }
            let e = try GMCElement(decoding: bytes, at: at)
            out.append((page, e))
            page += e.header.pages
        }
        return out
    }

    /// The elements as a ring dump: each padded with zeros to its pages.
    public static func encode(_ elements: [GMCElement]) -> [UInt8] {
        elements.flatMap { e in
            let b = e.encoded
            return b + [UInt8](repeating: 0, count: e.header.pages * GspMemLayout.pageSize - b.count)
        }
    }
}
