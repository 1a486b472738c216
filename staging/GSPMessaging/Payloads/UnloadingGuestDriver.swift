/// `rpc_unloading_guest_driver_v1F_07` (r570.144), the payload of `UNLOADING_GUEST_DRIVER`
/// (function 47): the first step of the unload path (mainline nova-core, and nouveau's r535
/// code), after which the driver runs the Booter Unloader and FWSEC-SB.
///
/// | offset | field |
/// |---|---|
/// | 0 | `NvBool bInPMTransition` (1 when suspending) |
/// | 1 | `NvBool bGc6Entering` |
/// | 2 | 2 bytes padding |
/// | 4 | `NvU32 newLevel` (`NV2080_CTRL_GPU_SET_POWER_STATE_GPU_LEVEL_3` = 3 when suspending) |
public struct UnloadingGuestDriver: Equatable, Sendable {
    public static let size = 8
    /// `NV2080_CTRL_GPU_SET_POWER_STATE_GPU_LEVEL_3`.
    public static let powerLevel3: UInt32 = 3

    public var inPMTransition: Bool
    public var gc6Entering: Bool = false
    public var newLevel: UInt32

    /// An unload (`suspend` false: the driver goes away) or a suspend.
    public init(suspend: Bool = false) {
        inPMTransition = suspend
        newLevel = suspend ? Self.powerLevel3 : 0
    }

    public init(decoding bytes: [UInt8]) throws(VGPUPayloadError) {
        guard bytes.count == Self.size else {
            throw VGPUPayloadError(
                offset: 0, "UNLOADING_GUEST_DRIVER payload is \(bytes.count) bytes, not \(Self.size)")
        }
        inPMTransition = bytes[0] != 0
        gc6Entering = bytes[1] != 0
        newLevel = bytes.le32(4)
    }

    public var encoded: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        b[0] = inPMTransition ? 1 : 0
        b[1] = gc6Entering ? 1 : 0
        b.put32(4, newLevel)
        return b
    }
}
