import Foundation
import GSPMessaging
import HostKit
import TestSupport

/// A fresh shared file in a temporary directory, mapped.
func tempMapping() throws -> SharedMapping {
    try SharedMapping.create(path: TestSupport.tempDir("gsp") + "/gspmem")
}

/// Both ends of the queues over one mapping, as the driver and firmware see them (the driver
/// initialises its queue, the "firmware" links its own).
func endpointPair() throws -> (cpu: GSPEndpoint, gsp: GSPEndpoint, mapping: SharedMapping) {
    let m = try tempMapping()
    ControlPage(m).initialize(arguments: MessageQueueInitArguments(), wprMeta: WPRMeta())
    QueueRing(mapping: m, side: .cpu).initializeOwnQueue()
    QueueRing(mapping: m, side: .gsp).initializeOwnQueue()
    let cpu = GSPEndpoint(mapping: m, side: .cpu)
    let gsp = GSPEndpoint(mapping: m, side: .gsp)
    cpu.spin = 0
    gsp.spin = 0
    return (cpu, gsp, m)
}

/// Pids of running processes whose command line mentions `text` (zombies excluded).
func processes(mentioning text: String) -> [Int32] {
    let fm = FileManager.default
    return ((try? fm.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { Int32($0) }.filter { pid in
        guard pid != getpid(), let args = StubProcess.commandLine(of: pid), args.joined(separator: " ").contains(text)
        else { return false }
        if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")"),
            stat[stat.index(close, offsetBy: 2)...].first == "Z"
        {
            return false
        }
        return true
    }
}

/// Runs the built vgpuctl and returns its result and how long it took.
func timedVgpuctl(_ args: [String]) throws -> (TestSupport.Result, Duration) {
    let clock = ContinuousClock()
    let start = clock.now
    let r = try TestSupport.vgpuctl(args)
    return (r, start.duration(to: clock.now))
}

/// A simulated h100x8 host; its first GPU is at 0000:18:00.0.
func h100Host() throws -> HostRoot { try TestSupport.simHost("h100x8") }
let h100PF = "0000:18:00.0"

/// Stops any stub a test left for `pf` on `root`.
func stopStub(_ root: HostRoot, _ pf: String = h100PF) {
    _ = try? TestSupport.vgpuctl(["--root", root.path, "gsp", "stop", pf])
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
