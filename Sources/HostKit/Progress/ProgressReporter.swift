import Foundation

/// Where long work says what it is waiting for, for a person watching.
///
/// Libraries name the phase (`begin`) and its end; the CLI decides whether anyone sees it
/// (``SilentProgress`` unless stderr is a terminal and the output is not JSON). Phases nest: a
/// wait inside an apply step shows while it lasts, then the step shows again.
public protocol ProgressReporter: Sendable {
    /// A phase starts: `what` names the work or the wait ("waiting for the kernel to create 8
    /// VFs of 0000:18:00.0").
    func begin(_ what: String)
    /// The innermost phase is over.
    func end()
}

/// Shows nothing: for pipes, files, `--json`, and libraries used without a CLI.
public struct SilentProgress: ProgressReporter {
    public init() {}
    public func begin(_ what: String) {}
    public func end() {}
}

/// A ``VFWaiter`` that reports its wait as a progress phase around the wrapped waiter.
public struct ProgressVFWaiter: VFWaiter {
    public let inner: any VFWaiter
    public let progress: any ProgressReporter

    public init(_ inner: any VFWaiter, progress: any ProgressReporter) {
        self.inner = inner
        self.progress = progress
    }

    public func waitForVFs(
        _ vfs: [PCIAddress], of pf: PCIAddress, sysfs: SysfsReader, deadline: ContinuousClock.Instant
    ) throws(VGPUError) {
        progress.begin("waiting for the kernel to create \(vfs.count) VF\(vfs.count == 1 ? "" : "s") of \(pf)")
        defer { progress.end() }
        try inner.waitForVFs(vfs, of: pf, sysfs: sysfs, deadline: deadline)
    }
}
