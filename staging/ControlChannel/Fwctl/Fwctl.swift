import CControlChannel

/// The fwctl UAPI (`include/uapi/fwctl/fwctl.h`, merged in Linux 6.15), re-exported from the C
/// mirror in `CControlChannel` under Swift names.
public enum Fwctl {
    /// `FWCTL_TYPE`, the ioctl type byte.
    public static let type = UInt32(VGPUCTL_FWCTL_TYPE)
    /// `FWCTL_INFO` = `_IO(FWCTL_TYPE, 0)` = 0x9A00.
    public static let info = UInt32(VGPUCTL_FWCTL_INFO)
    /// `FWCTL_RPC` = `_IO(FWCTL_TYPE, 1)` = 0x9A01.
    public static let rpc = UInt32(VGPUCTL_FWCTL_RPC)
    /// `MAX_RPC_LEN` (`drivers/fwctl/main.c`): 2 MiB; a longer `in_len` or `out_len` is `EMSGSIZE`.
    public static let maxRPCLength = Int(VGPUCTL_FWCTL_MAX_RPC_LEN)
    /// `sizeof(struct fwctl_info)`.
    public static let infoSize = MemoryLayout<fwctl_info>.size
    /// `sizeof(struct fwctl_rpc)`.
    public static let rpcSize = MemoryLayout<fwctl_rpc>.size

    /// A `struct fwctl_info` asking for up to `deviceDataLength` bytes of device data at `deviceData`.
    public static func infoRequest(deviceDataLength: UInt32, deviceData: UInt64) -> fwctl_info {
        fwctl_info(
            size: UInt32(infoSize), flags: 0, out_device_type: 0, device_data_len: deviceDataLength,
            out_device_data: deviceData)
    }

    /// A `struct fwctl_rpc` for `inLength` request bytes at `input` and `outLength` bytes of room at `output`.
    public static func rpcRequest(scope: FwctlScope, inLength: UInt32, outLength: UInt32, input: UInt64, output: UInt64)
        -> fwctl_rpc
    {
        fwctl_rpc(
            size: UInt32(rpcSize), scope: scope.rawValue, in_len: inLength, out_len: outLength, in: input, out: output)
    }

    /// The bytes of a C struct as the kernel reads them (little-endian on the hosts vgpuctl runs on).
    public static func bytes<T>(of value: T) -> [UInt8] {
        withUnsafeBytes(of: value) { Array($0) }
    }
}

/// `enum fwctl_rpc_scope`: what an RPC may do. The two debug-write scopes taint the kernel
/// (`TAINT_FWCTL`); the last also needs `CAP_SYS_RAWIO`.
public enum FwctlScope: UInt32, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// `FWCTL_RPC_CONFIGURATION`: device configuration; the only scope nova-core permits the
    /// vGPU management commands in.
    case configuration = 0
    /// `FWCTL_RPC_DEBUG_READ_ONLY`.
    case debugReadOnly = 1
    /// `FWCTL_RPC_DEBUG_WRITE`: taints the kernel.
    case debugWrite = 2
    /// `FWCTL_RPC_DEBUG_WRITE_FULL`: taints the kernel, needs `CAP_SYS_RAWIO`.
    case debugWriteFull = 3

    /// The kernel's name (`FWCTL_RPC_DEBUG_WRITE`).
    public var kernelName: String {
        switch self {
        case .configuration: "FWCTL_RPC_CONFIGURATION"
        case .debugReadOnly: "FWCTL_RPC_DEBUG_READ_ONLY"
        case .debugWrite: "FWCTL_RPC_DEBUG_WRITE"
        case .debugWriteFull: "FWCTL_RPC_DEBUG_WRITE_FULL"
        }
    }

    /// The name vgpuctl's `--debug-scope` takes (`debug-write`).
    public var optionName: String {
        switch self {
        case .configuration: "configuration"
        case .debugReadOnly: "debug-read-only"
        case .debugWrite: "debug-write"
        case .debugWriteFull: "debug-write-full"
        }
    }

    /// Whether an RPC in this scope taints the kernel (`add_taint(TAINT_FWCTL)` in `fwctl_cmd_rpc`).
    public var taintsKernel: Bool { self == .debugWrite || self == .debugWriteFull }

    /// Whether the caller needs `CAP_SYS_RAWIO` (else `EPERM`).
    public var needsRawIO: Bool { self == .debugWriteFull }

    public var description: String { optionName }
}

/// `enum fwctl_device_type`: which driver answers behind a fwctl device (`FWCTL_INFO`'s
/// `out_device_type`). NOVA_CORE is provisional (see ``NovaCoreTable``).
public struct FwctlDeviceType: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `FWCTL_DEVICE_TYPE_ERROR`.
    public static let error = FwctlDeviceType(rawValue: UInt32(VGPUCTL_FWCTL_DEVICE_TYPE_ERROR))
    /// `FWCTL_DEVICE_TYPE_MLX5`.
    public static let mlx5 = FwctlDeviceType(rawValue: UInt32(VGPUCTL_FWCTL_DEVICE_TYPE_MLX5))
    /// `FWCTL_DEVICE_TYPE_CXL`.
    public static let cxl = FwctlDeviceType(rawValue: UInt32(VGPUCTL_FWCTL_DEVICE_TYPE_CXL))
    /// `FWCTL_DEVICE_TYPE_BNXT`.
    public static let bnxt = FwctlDeviceType(rawValue: UInt32(VGPUCTL_FWCTL_DEVICE_TYPE_BNXT))
    /// `FWCTL_DEVICE_TYPE_PDS`.
    public static let pds = FwctlDeviceType(rawValue: UInt32(VGPUCTL_FWCTL_DEVICE_TYPE_PDS))
    /// `FWCTL_DEVICE_TYPE_NOVA_CORE` (provisional).
    public static let novaCore = FwctlDeviceType(rawValue: NovaCoreTable.deviceType)

    /// `NOVA_CORE`, `MLX5`, or `UNKNOWN`.
    public var name: String {
        switch self {
        case .error: "ERROR"
        case .mlx5: "MLX5"
        case .cxl: "CXL"
        case .bnxt: "BNXT"
        case .pds: "PDS"
        case .novaCore: "NOVA_CORE"
        default: "UNKNOWN"
        }
    }

    public var description: String { "\(rawValue) (\(name))" }

    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(UInt32.self) }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}

/// What `FWCTL_INFO` returned.
public struct FwctlDeviceInfo: Sendable, Equatable {
    public var deviceType: FwctlDeviceType
    /// The driver's device data, as much as fitted (``deviceDataLength`` is its full length).
    public var deviceData: [UInt8]
    public var deviceDataLength: Int

    public init(deviceType: FwctlDeviceType, deviceData: [UInt8], deviceDataLength: Int? = nil) {
        self.deviceType = deviceType
        self.deviceData = deviceData
        self.deviceDataLength = deviceDataLength ?? deviceData.count
    }
}
