import Foundation
import HostKit
import HostSim

/// The host a mutating command works on: its root, and the kernel that applies writes (the
/// simulated one for a simulated host, sysfs otherwise).
struct HostContext {
    let root: HostRoot
    let kernel: any Kernel
    /// Where waits and long applies report progress (``TerminalProgress/forStderr(json:)``).
    var progress: any ProgressReporter = SilentProgress()

    init(_ options: HostOptions) throws(VGPUError) {
        root = try options.hostRoot()
        // Tests: VGPUCTL_TEST_SIM_KILL_AT_EFFECT=N ends this process with SIGKILL before the Nth
        // change a simulated kernel write makes (inside the write).
        let hook = ProcessInfo.processInfo.environment[Self.simKillSwitch].flatMap(Int.init).map(
            SimEffectHook.init(killAt:))
        let base: any Kernel =
            root.isSimulated ? SimulatedKernel(root: root, effectHook: hook) : SysfsKernel(root: root)
        if let log = ProcessInfo.processInfo.environment["VGPUCTL_WRITE_LOG"], !log.isEmpty {
            kernel = LoggingKernel(forwardingTo: base, logPath: log)
        } else {
            kernel = base
        }
    }

    var sysfs: SysfsReader { SysfsReader(root: root) }

    static let simKillSwitch = "VGPUCTL_TEST_SIM_KILL_AT_EFFECT"

    /// How VF creation is awaited: uevents on a real host, a sysfs check on a simulated one.
    var vfWaiterFactory: @Sendable () throws(VGPUError) -> any VFWaiter {
        let progress = self.progress
        if root.isSimulated { return { ProgressVFWaiter(SysfsVFWaiter(), progress: progress) } }
        #if os(Linux)
            return { () throws(VGPUError) -> any VFWaiter in ProgressVFWaiter(try UeventVFWaiter(), progress: progress)
            }
        #else
            return { ProgressVFWaiter(SysfsVFWaiter(), progress: progress) }
        #endif
    }
}

/// Parses a PCI address argument (exit 2 on a malformed one).
func address(_ text: String, what: String = "PCI address") throws(VGPUError) -> PCIAddress {
    try PCIAddress.parse(text, what: what)
}
