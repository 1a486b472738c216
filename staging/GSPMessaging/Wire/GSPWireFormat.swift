/// The two firmware wire formats vgpuctl speaks, each with its own versioned table.
///
/// - `r570.144`: the mainline format (nova-core in Linux, firmware r570.144):
///   `GSP_MSG_QUEUE_ELEMENT` with auth tag, AAD, checksum, `seqNum` and `elemCount`, then
///   `rpc_message_header_v03_00` and an RPC payload; `msgqTxHeader` starts with a u32
///   `version`. Functions and events: ``GSPFirmwareTable/r570_144``.
/// - `r000_00`: the development firmware of the vGPU series' author's tree (GMC API with NVKV
///   payloads; not mainline): queue elements carry an MCTP transport header and an NVDM
///   header (``GMCElementHeader``), then either an RPC header (NVDM type 0x25) or a
///   ``GMCAPIHeader`` (NVDM type 0x26); no checksum and no `seqNum` (a read element's magic
///   becomes "SEEN"); `msgqTxHeader` starts with u16 `versionMajor`/`versionMinor`. Commands:
///   ``GMCCommandTable``.
///
/// Sources: nova-core `gsp/fw/r570_144/bindings.rs` (mainline); the author's
/// `gsp/fw/r000_00/bindings.rs` and open-gpu-kernel-modules' development
/// `message_queue_priv.h`, `message_queue_cpu.c`, `nvdm_format.h`, `fsp_mctp_format.h`.
public enum GSPWireFormat: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case r570_144 = "r570.144"
    case r000_00 = "r000_00"

    /// Whether mainline Linux speaks it.
    public var isMainline: Bool { self == .r570_144 }

    /// Bytes in front of the RPC or GMC API header in each queue element.
    public var elementHeaderSize: Int {
        switch self {
        case .r570_144: ElementHeader.size
        case .r000_00: GMCElementHeader.size
        }
    }

    /// What commands look like on this format.
    public var commandFraming: String {
        switch self {
        case .r570_144: "rpc_message_header_v03_00 (32 bytes) + RPC payload; vGPU management through RM ALLOC/CONTROL"
        case .r000_00: "GMCAPI_HEADER (32 bytes) + GMC API payload (NVKV); RM RPCs keep rpc_message_header_v"
        }
    }

    /// One line for outputs: `r570.144 (mainline: GSP_MSG_QUEUE_ELEMENT + rpc_message_header_v)`.
    public var summary: String {
        switch self {
        case .r570_144: "r570.144 (mainline firmware: GSP_MSG_QUEUE_ELEMENT with checksum + rpc_message_header_v)"
        case .r000_00: "r000_00 (development firmware, not mainline: MCTP/NVDM element header + GMCAPI_HEADER)"
        }
    }

    public var description: String { rawValue }
}
