import Foundation
import HostKit
import HostSim

/// The host a mutating command works on: its environment (``HostEnvironment``), its root, and
/// the kernel that applies writes (the simulated one for a simulated host, sysfs otherwise).
struct HostContext {
    let env: HostEnvironment
    let kernel: any Kernel
    /// Where waits and long applies report progress (``TerminalProgress/forStderr(json:)``).
    var progress: any ProgressReporter = SilentProgress()

    init(_ options: HostOptions) throws(CommandError) {
        self.init(env: try options.environment())
    }

    init(env: HostEnvironment) {
        self.env = env
        kernel = env.makeKernel()
    }

    var root: HostRoot { env.root }

    var sysfs: SysfsReader { SysfsReader(root: root) }

    /// How VF creation is awaited (``HostEnvironment/vfWaiterFactory(progress:)``).
    var vfWaiterFactory: @Sendable () throws(VGPUError) -> any VFWaiter { env.vfWaiterFactory(progress: progress) }
}

/// Parses a PCI address argument (exit 2 on a malformed one).
func address(_ text: String, what: String = "PCI address") throws(VGPUError) -> PCIAddress {
    try PCIAddress.parse(text, what: what)
}
