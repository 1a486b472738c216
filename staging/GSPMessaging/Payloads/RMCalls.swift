/// The payload of `GSP_RM_ALLOC` (`rpc_gsp_rm_alloc_v03_00`): a 32-byte header, then
/// `paramsSize` bytes of the class's allocation parameters. GSP-RM answers with the same
/// layout; `status` carries the RM status of the allocation.
public struct RMAlloc: Equatable, Sendable {
    public static let headerSize = 32
    public var hClient: UInt32
    public var hParent: UInt32
    public var hObject: UInt32
    public var hClass: UInt32
    public var status: UInt32 = 0
    public var flags: UInt32 = 0
    public var params: [UInt8] = []

    public init(hClient: UInt32, hParent: UInt32, hObject: UInt32, hClass: UInt32, params: [UInt8] = []) {
        self.hClient = hClient
        self.hParent = hParent
        self.hObject = hObject
        self.hClass = hClass
        self.params = params
    }

    public var encoded: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.headerSize + params.count)
        b.put32(0, hClient)
        b.put32(4, hParent)
        b.put32(8, hObject)
        b.put32(12, hClass)
        b.put32(16, status)
        b.put32(20, UInt32(params.count))
        b.put32(24, flags)
        b.putBytes(Self.headerSize, params)
        return b
    }

    public init(decoding b: [UInt8]) throws(VGPUPayloadError) {
        guard b.count >= Self.headerSize else {
            throw VGPUPayloadError(
                offset: 0, "GSP_RM_ALLOC payload is \(b.count) bytes, shorter than its 32-byte header")
        }
        let n = Int(b.le32(20))
        guard Self.headerSize + n == b.count else {
            throw VGPUPayloadError(
                offset: 20,
                "GSP_RM_ALLOC paramsSize \(n) does not match the \(b.count - Self.headerSize) parameter bytes carried")
        }
        hClient = b.le32(0)
        hParent = b.le32(4)
        hObject = b.le32(8)
        hClass = b.le32(12)
        status = b.le32(16)
        flags = b.le32(24)
        params = Array(b[Self.headerSize...])
    }
}

/// The payload of `GSP_RM_CONTROL` (`rpc_gsp_rm_control_v03_00`): a 24-byte header, then
/// `paramsSize` bytes of the control's in/out parameters. GSP-RM answers with the same layout.
public struct RMControl: Equatable, Sendable {
    public static let headerSize = 24
    public var hClient: UInt32
    public var hObject: UInt32
    public var cmd: UInt32
    public var status: UInt32 = 0
    public var flags: UInt32 = 0
    public var params: [UInt8]

    public init(hClient: UInt32, hObject: UInt32, cmd: UInt32, params: [UInt8] = []) {
        self.hClient = hClient
        self.hObject = hObject
        self.cmd = cmd
        self.params = params
    }

    public var encoded: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.headerSize + params.count)
        b.put32(0, hClient)
        b.put32(4, hObject)
        b.put32(8, cmd)
        b.put32(12, status)
        b.put32(16, UInt32(params.count))
        b.put32(20, flags)
        if !params.isEmpty {
            b.withUnsafeMutableBytes { dst in
                params.withUnsafeBytes { src in
                    UnsafeMutableRawBufferPointer(rebasing: dst[Self.headerSize..<Self.headerSize + src.count])
                        .copyMemory(from: src)
                }
            }
        }
        return b
    }

    public init(decoding b: [UInt8]) throws(VGPUPayloadError) {
        guard b.count >= Self.headerSize else {
            throw VGPUPayloadError(
                offset: 0, "GSP_RM_CONTROL payload is \(b.count) bytes, shorter than its 24-byte header")
        }
        let n = Int(b.le32(16))
        guard Self.headerSize + n == b.count else {
            throw VGPUPayloadError(
                offset: 16,
                "GSP_RM_CONTROL paramsSize \(n) does not match the \(b.count - Self.headerSize) parameter bytes carried"
            )
        }
        hClient = b.le32(0)
        hObject = b.le32(4)
        cmd = b.le32(8)
        status = b.le32(12)
        flags = b.le32(20)
        params = Array(b[Self.headerSize...])
    }
}

/// The payload of `FREE` (`rpc_free_v03_00` = `NVOS00_PARAMETERS_v03_00`, 16 bytes).
public struct RMFree: Equatable, Sendable {
    public static let size = 16
    public var hRoot: UInt32
    public var hObjectParent: UInt32
    public var hObjectOld: UInt32
    public var status: UInt32 = 0

    public init(hRoot: UInt32, hObjectParent: UInt32, hObjectOld: UInt32) {
        self.hRoot = hRoot
        self.hObjectParent = hObjectParent
        self.hObjectOld = hObjectOld
    }

    public var encoded: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        b.put32(0, hRoot)
        b.put32(4, hObjectParent)
        b.put32(8, hObjectOld)
        b.put32(12, status)
        return b
    }

    public init(decoding b: [UInt8]) throws(VGPUPayloadError) {
        guard b.count == Self.size else {
            throw VGPUPayloadError(offset: 0, "FREE payload is \(b.count) bytes, not 16")
        }
        hRoot = b.le32(0)
        hObjectParent = b.le32(4)
        hObjectOld = b.le32(8)
        status = b.le32(12)
    }
}

/// RM class and control numbers vgpuctl uses (`cl0000.h`, `cl0080.h`, `cl2080.h`,
/// `ctrl0000base.h`, `ctrl2080gpu.h`).
public enum RMClass {
    /// `NV01_ROOT`: a client.
    public static let root: UInt32 = 0x0000
    /// `NV01_ROOT_CLIENT`.
    public static let rootClient: UInt32 = 0x0041
    /// `NV01_DEVICE_0`.
    public static let device: UInt32 = 0x0080
    /// `NV20_SUBDEVICE_0`.
    public static let subdevice: UInt32 = 0x2080
}

public enum RMControlCommand {
    /// `NV0000_CTRL_CMD_NULL`: does nothing; parameters come back unchanged.
    public static let null: UInt32 = 0x0000_0000
    /// `NV2080_CTRL_CMD_GPU_GET_NAME_STRING`: params `{u32 gpuNameStringFlags; u8 ascii[64] or u16 unicode[64]}`.
    public static let gpuGetNameString: UInt32 = 0x2080_0110
    /// `NV2080_GPU_MAX_NAME_STRING_LENGTH`.
    public static let maxNameStringLength = 0x40
}
