import GPUModels
import GSPMessaging

/// How GSP-RM is started on the chip the stub plays. Turing, Ampere and Ada: the SEC2 booter
/// loads GSP-RM, which asks the CPU to run `GSP_RUN_CPU_SEQUENCER` to resume the core. Hopper
/// and Blackwell: the FSP chain of trust starts GSP-RM; there is no CPU sequencer (nova-core in
/// mainline; shared `reference/gsp-messaging.md`, 2026 corrections, "Boot step 3").
enum StubBootPath: String {
    case fsp = "FSP chain of trust (no CPU sequencer)"
    case sec2Booter = "SEC2 booter + CPU sequencer"

    static func of(_ spec: DeviceSpec) -> StubBootPath {
        switch GPUArchitecture.of(deviceID: UInt16(truncatingIfNeeded: spec.deviceID.value)) {
        case .hopper, .blackwell: .fsp
        case .turing, .ampere, .ada, .unknown: .sec2Booter
        }
    }

    /// The architecture's name, for the log.
    static func chip(_ spec: DeviceSpec) -> String {
        GPUArchitecture.of(deviceID: UInt16(truncatingIfNeeded: spec.deviceID.value)).title
    }
}
