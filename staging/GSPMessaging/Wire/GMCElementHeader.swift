/// A queue element's header in the development firmware r000_00 (`GSP_MSG_QUEUE_ELEMENT` in
/// its MCTP form, without confidential computing): 24 bytes.
///
/// | offset | field |
/// |---|---|
/// | 0x00 | `mctpMagic` = 0x4D435450 ("MCTP"); the reader rewrites it to 0x5345454E ("SEEN") |
/// | 0x04 | `mctpPayloadSize`: the whole element (these 24 bytes + message), bytes |
/// | 0x08 | `mctpHeader`: MCTP transport header (version 3:0 = 1, SOM 31, EOM 30) |
/// | 0x0c | `nvdmHeader`: type 6:0 = 0x7E (vendor PCI), vendor id 23:8 = 0x10DE, NVDM type 31:24 |
/// | 0x10 | `nvdmPayloadSize`: the message after this header, bytes |
/// | 0x14 | `reserved` |
/// | 0x18 | message: `rpc_message_header_v` (NVDM 0x25) or `GMCAPI_HEADER` (NVDM 0x26) |
///
/// With confidential computing a 16-byte `encryptionTag` sits before `nvdmPayloadSize`
/// (vgpuctl's simulated firmware does not encrypt). Sources: ``GSPWireFormat``.
public struct GMCElementHeader: Equatable, Sendable {
    public static let size = 0x18
    /// `MCTP_MAGIC`.
    public static let magic: UInt32 = 0x4D43_5450
    /// `MCTP_MAGIC_SEEN`.
    public static let magicSeen: UInt32 = 0x5345_454E
    /// `mctpCreateTransportHeader(som: 1, eom: 1, seid: 0, deid: 0, seq: 0)`.
    public static let singlePacketTransport: UInt32 = 0xC000_0001
    /// `MCTP_MSG_HEADER_TYPE_VENDOR_PCI`.
    public static let typeVendorPCI: UInt32 = 0x7E
    /// `MCTP_MSG_HEADER_VENDOR_ID_NV`.
    public static let vendorNV: UInt32 = 0x10DE

    /// `NVDM_TYPE_*` of a GSP-RM message.
    public enum NVDMType: UInt8, Sendable, Codable, CaseIterable {
        /// `NVDM_TYPE_RM_RPC`: an `rpc_message_header_v` message.
        case rmRPC = 0x25
        /// `NVDM_TYPE_GMCAPI`: a `GMCAPI_HEADER` message.
        case gmcapi = 0x26

        public var name: String { self == .rmRPC ? "NVDM_TYPE_RM_RPC" : "NVDM_TYPE_GMCAPI" }
    }

    public var mctpMagic: UInt32 = Self.magic
    public var mctpPayloadSize: UInt32
    public var mctpHeader: UInt32 = Self.singlePacketTransport
    public var nvdmHeader: UInt32
    public var nvdmPayloadSize: UInt32
    public var reserved: UInt32 = 0

    /// The header of an element carrying `messageLength` bytes of an `nvdm` message.
    public init(nvdm: NVDMType, messageLength: Int) {
        mctpPayloadSize = UInt32(Self.size + messageLength)
        nvdmHeader = Self.nvdmHeader(nvdm.rawValue)
        nvdmPayloadSize = UInt32(messageLength)
    }

    /// `mctpCreateNvdmHeader(type)`.
    public static func nvdmHeader(_ type: UInt8) -> UInt32 {
        typeVendorPCI | vendorNV << 8 | UInt32(type) << 24
    }

    /// Decodes 24 bytes of `bytes` at `offset` (the caller checked they are there).
    public init(decoding bytes: [UInt8], at offset: Int = 0) {
        mctpMagic = bytes.le32(offset)
        mctpPayloadSize = bytes.le32(offset + 4)
        mctpHeader = bytes.le32(offset + 8)
        nvdmHeader = bytes.le32(offset + 12)
        nvdmPayloadSize = bytes.le32(offset + 16)
        reserved = bytes.le32(offset + 20)
    }

    /// The 24 encoded bytes.
    public var encoded: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        for (i, v) in [mctpMagic, mctpPayloadSize, mctpHeader, nvdmHeader, nvdmPayloadSize, reserved].enumerated() {
            b.put32(4 * i, v)
        }
        return b
    }

    /// `MCTP_HEADER_VERSION` (3:0).
    public var mctpVersion: UInt32 { mctpHeader & 0xF }
    /// `MCTP_MSG_HEADER_VENDOR_ID` (23:8).
    public var vendorID: UInt32 { (nvdmHeader >> 8) & 0xFFFF }
    /// `MCTP_MSG_HEADER_NVDM_TYPE` (31:24).
    public var nvdmTypeValue: UInt8 { UInt8(nvdmHeader >> 24) }
    public var nvdmType: NVDMType? { NVDMType(rawValue: nvdmTypeValue) }
    /// Pages the element occupies (`gspMsgQueueBytesToElements` with 4 KiB elements).
    public var pages: Int { (Int(mctpPayloadSize) + GspMemLayout.pageSize - 1) / GspMemLayout.pageSize }

    /// What a receiver rejects (as open-gpu-kernel-modules' `GspMsgQueueReceiveStatus` does), or
    /// nil. `available`: bytes present from the element's start.
    public func problem(available: Int = GspMemLayout.maxElementSize) -> String? {
        if mctpMagic != Self.magic && mctpMagic != Self.magicSeen {
            return
                "mctpMagic is \(hex0x(mctpMagic)), not \(hex0x(Self.magic)) (\"MCTP\") or \(hex0x(Self.magicSeen)) (\"SEEN\")"
        }
        if mctpVersion != 1 { return "MCTP header version is \(mctpVersion), not 1" }
        if vendorID != Self.vendorNV { return "NVDM vendor id is \(hex0x(vendorID)), not \(hex0x(Self.vendorNV))" }
        if Int(mctpPayloadSize) < Self.size || Int(mctpPayloadSize) > GspMemLayout.maxElementSize {
            return "mctpPayloadSize \(mctpPayloadSize) is outside \(Self.size)...\(GspMemLayout.maxElementSize)"
        }
        if Int(nvdmPayloadSize) + Self.size != Int(mctpPayloadSize) {
            return "nvdmPayloadSize \(nvdmPayloadSize) + \(Self.size) does not match mctpPayloadSize \(mctpPayloadSize)"
        }
        if Int(mctpPayloadSize) > available {
            return "the element claims \(mctpPayloadSize) bytes, only \(available) are there"
        }
        return nil
    }
}
