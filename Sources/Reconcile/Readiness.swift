import Foundation
import HostKit

/// Boot-time readiness: waits until the devices a config selects exist and are bound to a
/// driver, with kernel uevents as the wake-up on a real host: no sleeps.
public struct Readiness {
    public let root: HostRoot
    public let planner: Planner
    /// Whether kernel uevents wake the wait (a real host); without them (a simulated host) the
    /// tree is re-read every 50 ms. The CLI edge chooses.
    public let uevents: Bool

    public init(root: HostRoot, planner: Planner, uevents: Bool) {
        self.root = root
        self.planner = planner
        self.uevents = uevents
    }

    /// The devices not ready yet, with the reason.
    public func pending(_ config: HostConfig) -> [String] {
        let sysfs = SysfsReader(root: root)
        var out: [String] = []
        for rule in config.rules {
            if case .address(let a) = rule.selector, sysfs.device(a) == nil {
                out.append("\(a) does not exist yet")
            }
        }
        let selected: [(PCIDevice, HostConfig.Rule)]
        do { selected = try planner.resolve(config) } catch {
            // A config that does not resolve is not ready: say why (an absent address was
            // named above already).
            if out.isEmpty { out.append(error.message) }
            return out
        }
        // A bound driver is the readiness that matters (udev writes a database entry only for
        // devices its rules touch, so its absence proves nothing). A device left unbound on
        // purpose carries a driver_override.
        for (d, _) in selected where d.driver == nil && d.driverOverride == nil {
            out.append("\(d.address) has no driver bound yet")
        }
        return out
    }

    /// Waits until nothing is pending or `timeout` passes (then throws naming what is missing).
    /// Without uevents (a simulated host) it re-reads the tree every 50 ms. `progress` shows what
    /// is still pending and for how long.
    public func wait(_ config: HostConfig, timeout: Duration, progress: any ProgressReporter = SilentProgress())
        throws(ReconcileError)
    {
        var waiting = pending(config)
        if waiting.isEmpty { return }
        progress.begin("waiting for devices to be ready: \(waiting.joined(separator: "; "))")
        defer { progress.end() }
        if !uevents {
            let deadline = ContinuousClock.now + timeout
            while !waiting.isEmpty && ContinuousClock.now < deadline {
                Thread.sleep(forTimeInterval: 0.05)
                let now = pending(config)
                if now != waiting && !now.isEmpty {
                    progress.end()
                    progress.begin("waiting for devices to be ready: \(now.joined(separator: "; "))")
                }
                waiting = now
            }
        }
        #if os(Linux)
            if uevents {
                let listener = try ReconcileError.wrapping(.notReady) { try UeventListener() }
                let deadline = ContinuousClock.now + timeout
                while !pending(config).isEmpty {
                    // Any PCI event may be the one; re-check after each (bind, add, change).
                    guard try ReconcileError.wrapping(.notReady, { try listener.next(deadline: deadline) }) != nil
                    else { break }
                }
            }
        #endif
        let left = pending(config)
        if !left.isEmpty {
            throw .failed(
                .notReady,
                "devices not ready after \(timeout): \(left.joined(separator: "; ")); is the GPU driver loaded?")
        }
    }
}
