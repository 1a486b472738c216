import Foundation

/// What gsp-stub takes from its process environment, read once, here: the stub is an
/// executable, so this is its edge, as the CLI's commands are vgpuctl's. The rest of the stub
/// gets these values.
struct StubEnvironment: Sendable {
    /// `VGPUCTL_STUB_FWCTL_FAULT`: make the vGPU management replies bad (see
    /// ``StubVGPUManagement``); nil in normal use.
    var fwctlFault: String?
    /// `VGPUCTL_GSP_SPIN`: doorbell checks to spin before sleeping (``GSPEndpoint/spin``).
    var spin: Int
    /// `VGPUCTL_MODELS`: another copy of the GPU models (nil: the bundled one).
    var models: String?

    init(_ environment: [String: String]) {
        fwctlFault = environment["VGPUCTL_STUB_FWCTL_FAULT"].flatMap { $0.isEmpty ? nil : $0 }
        spin = environment["VGPUCTL_GSP_SPIN"].flatMap { Int($0) } ?? 0
        models = environment["VGPUCTL_MODELS"]
    }

    /// This process's.
    static let current = StubEnvironment(ProcessInfo.processInfo.environment)
}
