import GSPMessaging

/// Names and meanings of the `NV_STATUS` codes the vGPU management commands answer with.
/// Numbers from `nvstatuscodes.h`; those GSPMessaging already names go through it.
public enum NVStatusText {
    /// `NV_ERR_IN_USE`.
    public static let errInUse: UInt32 = 0x17
    /// `NV_ERR_INSERT_DUPLICATE_NAME`.
    public static let errInsertDuplicateName: UInt32 = 0x19
    /// `NV_ERR_INSUFFICIENT_PERMISSIONS`.
    public static let errInsufficientPermissions: UInt32 = 0x1B
    /// `NV_ERR_INVALID_DEVICE`.
    public static let errInvalidDevice: UInt32 = 0x26
    /// `NV_ERR_INVALID_INDEX`.
    public static let errInvalidIndex: UInt32 = 0x2C

    private static let extra: [UInt32: String] = [
        errInUse: "NV_ERR_IN_USE", errInsertDuplicateName: "NV_ERR_INSERT_DUPLICATE_NAME",
        errInsufficientPermissions: "NV_ERR_INSUFFICIENT_PERMISSIONS", errInvalidDevice: "NV_ERR_INVALID_DEVICE",
        errInvalidIndex: "NV_ERR_INVALID_INDEX",
    ]

    /// `0x1a (NV_ERR_INSUFFICIENT_RESOURCES)`.
    public static func describe(_ s: UInt32) -> String {
        extra[s].map { "\(hex0x(s)) (\($0))" } ?? NVStatus.describe(s)
    }

    /// What a refusal means for the operator, for the statuses the management commands use.
    public static func meaning(_ s: UInt32) -> String? {
        switch s {
        case NVStatus.errInsufficientResources: "the GPU cannot hold it now"
        case NVStatus.errObjectNotFound:
            "the firmware does not know that vGPU type (types are taught with ADD_VGPU_TYPE first)"
        case errInUse: "it is in use"
        case errInvalidIndex: "no such VF on this GPU"
        case NVStatus.errNotSupported: "vGPU management is not available on this GPU's GSP-RM"
        case errInsufficientPermissions: "not permitted in this scope"
        case NVStatus.errInvalidArgument, NVStatus.errInvalidParamStruct, NVStatus.errInvalidData:
            "the firmware could not read the request"
        default: nil
        }
    }
}
