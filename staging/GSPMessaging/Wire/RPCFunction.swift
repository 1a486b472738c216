/// A function or event number of GSP-RM's RPC protocol (`NV_VGPU_MSG_FUNCTION_*` below
/// 0x1000, `NV_VGPU_MSG_EVENT_*` from 0x1000), as carried in `rpc_message_header_v.function`.
///
/// The numbers are firmware-version specific; the names come from one versioned table,
/// ``GSPFirmwareTable``. The constants here are the ones vgpuctl sends or handles.
public struct RPCFunction: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ value: UInt32) { rawValue = value }

    // Functions (CPU -> GSP commands, and GSP replies carrying the same number).
    public static let nop = RPCFunction(0)
    public static let allocRoot = RPCFunction(2)
    public static let allocDevice = RPCFunction(3)
    public static let allocMemory = RPCFunction(4)
    public static let allocObject = RPCFunction(9)
    public static let free = RPCFunction(10)
    public static let log = RPCFunction(11)
    public static let unloadingGuestDriver = RPCFunction(47)
    public static let getGspStaticInfo = RPCFunction(65)
    public static let continuationRecord = RPCFunction(71)
    public static let gspSetSystemInfo = RPCFunction(72)
    public static let setRegistry = RPCFunction(73)
    public static let gspInitPostObjGpu = RPCFunction(74)
    public static let gspRmControl = RPCFunction(76)
    public static let gspRmAlloc = RPCFunction(103)
    public static let rmApiControl = RPCFunction(204)

    // Events (GSP -> CPU, unsolicited).
    public static let gspInitDone = RPCFunction(0x1001)
    public static let gspRunCpuSequencer = RPCFunction(0x1002)
    public static let postEvent = RPCFunction(0x1003)
    public static let rcTriggered = RPCFunction(0x1004)
    public static let mmuFaultQueued = RPCFunction(0x1005)
    public static let osErrorLog = RPCFunction(0x1006)
    public static let ucodeLibosPrint = RPCFunction(0x100C)
    public static let vgpuGspPluginTriggered = RPCFunction(0x100D)
    public static let vgpuConfig = RPCFunction(0x1010)
    public static let gspLockdownNotice = RPCFunction(0x101C)

    /// Event numbers start here (`NV_VGPU_MSG_EVENT_FIRST_EVENT`).
    public static let firstEvent: UInt32 = 0x1000

    /// Whether this is an event number rather than a function number.
    public var isEvent: Bool { rawValue >= Self.firstEvent }

    /// The name in the current firmware's table (`GSP_SET_SYSTEM_INFO`), or
    /// `UNKNOWN(0x...)` for a number the table does not have.
    public var name: String { GSPFirmwareTable.current.name(of: self) }

    /// Whether the current firmware's table knows this number.
    public var isKnown: Bool { GSPFirmwareTable.current.knows(self) }

    public var description: String { name }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(UInt32.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}

/// The function and event numbers of one GSP-RM firmware version, with their names.
///
/// GSP-RM renumbers RPCs between firmware versions, so every number vgpuctl prints or
/// decodes goes through one table chosen by version. Only r570.144 (the version nova-core and
/// nouveau target) is known.
public struct GSPFirmwareTable: Sendable {
    /// The firmware version, `570.144`.
    public let version: String
    /// `NV_VGPU_MSG_FUNCTION_*` names, indexed by number.
    public let functionNames: [String]
    /// `NV_VGPU_MSG_EVENT_*` names, indexed by number - 0x1000.
    public let eventNames: [String]

    /// The table for the firmware vgpuctl speaks.
    public static let current = r570_144

    /// The name of `function`, or `UNKNOWN(0x...)`.
    public func name(of function: RPCFunction) -> String {
        let v = function.rawValue
        if v >= RPCFunction.firstEvent {
            let i = Int(v - RPCFunction.firstEvent)
            if i < eventNames.count { return eventNames[i] }
        } else if Int(v) < functionNames.count {
            return functionNames[Int(v)]
        }
        return "UNKNOWN(0x\(String(v, radix: 16)))"
    }

    /// Whether `function` is a number this firmware defines (the `NUM_*` end markers excluded).
    public func knows(_ function: RPCFunction) -> Bool {
        let v = function.rawValue
        if v >= RPCFunction.firstEvent { return Int(v - RPCFunction.firstEvent) < eventNames.count }
        return Int(v) < functionNames.count
    }

    /// Looks a name up (`GSP_RM_CONTROL` or `NV_VGPU_MSG_FUNCTION_GSP_RM_CONTROL`), or parses
    /// a number (`76`, `0x4c`).
    public func function(named text: String) -> RPCFunction? {
        var n = text.uppercased()
        for prefix in ["NV_VGPU_MSG_FUNCTION_", "NV_VGPU_MSG_EVENT_"] where n.hasPrefix(prefix) {
            n = String(n.dropFirst(prefix.count))
        }
        if let i = functionNames.firstIndex(of: n) { return RPCFunction(UInt32(i)) }
        if let i = eventNames.firstIndex(of: n) { return RPCFunction(RPCFunction.firstEvent + UInt32(i)) }
        if n.hasPrefix("0X"), let v = UInt32(n.dropFirst(2), radix: 16) { return RPCFunction(v) }
        return UInt32(n).map { RPCFunction(rawValue: $0) }
    }
}
