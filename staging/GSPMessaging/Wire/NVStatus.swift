/// `NV_STATUS` codes (`nvstatuscodes.h`) and `NV_VGPU_MSG_RESULT_*` RPC results that vgpuctl
/// names in messages. An RPC's `rpc_result` is either an `NV_STATUS` or one of the RPC-layer
/// results at 0xFF000000 and up.
public enum NVStatus {
    public static let ok: UInt32 = 0x0000_0000
    public static let errBufferTooSmall: UInt32 = 0x0000_0002
    public static let errInsufficientResources: UInt32 = 0x0000_001A
    public static let errInvalidArgument: UInt32 = 0x0000_001F
    public static let errInvalidClass: UInt32 = 0x0000_0022
    public static let errInvalidClient: UInt32 = 0x0000_0023
    public static let errInvalidCommand: UInt32 = 0x0000_0024
    public static let errInvalidData: UInt32 = 0x0000_0025
    public static let errInvalidObjectHandle: UInt32 = 0x0000_0033
    public static let errInvalidObjectParent: UInt32 = 0x0000_0036
    public static let errInvalidParamStruct: UInt32 = 0x0000_003A
    public static let errInvalidState: UInt32 = 0x0000_0040
    public static let errNotSupported: UInt32 = 0x0000_0056
    public static let errObjectNotFound: UInt32 = 0x0000_0057
    public static let errTimeout: UInt32 = 0x0000_0065
    public static let errRiscvError: UInt32 = 0x0000_0079
    public static let errGeneric: UInt32 = 0x0000_FFFF
    /// `NV_VGPU_MSG_RESULT_RPC_UNKNOWN_FUNCTION`.
    public static let rpcUnknownFunction: UInt32 = 0xFF10_0001
    /// `NV_VGPU_MSG_RESULT_RPC_INVALID_MESSAGE_FORMAT`.
    public static let rpcInvalidMessageFormat: UInt32 = 0xFF10_0002
    /// `NV_VGPU_MSG_RESULT_RPC_HANDLE_NOT_FOUND`.
    public static let rpcHandleNotFound: UInt32 = 0xFF10_0003
    /// `NV_VGPU_MSG_RESULT_RPC_PENDING`.
    public static let rpcPending: UInt32 = 0xFFFF_FFFF

    private static let names: [UInt32: String] = [
        ok: "NV_OK", errBufferTooSmall: "NV_ERR_BUFFER_TOO_SMALL",
        errInsufficientResources: "NV_ERR_INSUFFICIENT_RESOURCES", errInvalidArgument: "NV_ERR_INVALID_ARGUMENT",
        errInvalidClass: "NV_ERR_INVALID_CLASS", errInvalidClient: "NV_ERR_INVALID_CLIENT",
        errInvalidCommand: "NV_ERR_INVALID_COMMAND", errInvalidData: "NV_ERR_INVALID_DATA",
        errInvalidObjectHandle: "NV_ERR_INVALID_OBJECT_HANDLE", errInvalidObjectParent: "NV_ERR_INVALID_OBJECT_PARENT",
        errInvalidParamStruct: "NV_ERR_INVALID_PARAM_STRUCT", errInvalidState: "NV_ERR_INVALID_STATE",
        errNotSupported: "NV_ERR_NOT_SUPPORTED", errObjectNotFound: "NV_ERR_OBJECT_NOT_FOUND",
        errTimeout: "NV_ERR_TIMEOUT", errRiscvError: "NV_ERR_RISCV_ERROR", errGeneric: "NV_ERR_GENERIC",
        rpcUnknownFunction: "NV_VGPU_MSG_RESULT_RPC_UNKNOWN_FUNCTION",
        rpcInvalidMessageFormat: "NV_VGPU_MSG_RESULT_RPC_INVALID_MESSAGE_FORMAT",
        rpcHandleNotFound: "NV_VGPU_MSG_RESULT_RPC_HANDLE_NOT_FOUND",
        rpcPending: "NV_VGPU_MSG_RESULT_RPC_PENDING",
    ]

    /// `0x40 (NV_ERR_INVALID_STATE)`, or the bare hex for a code without a name here.
    public static func describe(_ code: UInt32) -> String {
        if let n = names[code] { return "\(hex0x(code)) (\(n))" }
        return hex0x(code)
    }

    /// Parses a status given by name (`NV_ERR_INVALID_STATE`) or number (`0x40`).
    public static func parse(_ text: String) -> UInt32? {
        let t = text.uppercased()
        if let (code, _) = names.first(where: { $0.value == t }) { return code }
        if t.hasPrefix("0X") { return UInt32(t.dropFirst(2), radix: 16) }
        return UInt32(t)
    }
}
