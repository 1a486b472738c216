import Foundation
import HostKit
import Passthrough

extension Reconciler {
    /// What dropping an interrupted apply leaves.
    public struct Abandoned: Sendable, Encodable {
        public var journalID: String
        public var interruptedPID: Int32
        public var command: String
        public var config: String
        /// Steps the interrupted apply finished.
        public var doneSteps: [String]
        /// The step in progress and the ones after it: never carried out.
        public var leftSteps: [String]
        /// The devices of the steps left, as the host shows them now.
        public var hostShows: [String]
    }

    /// What dropping the interrupted apply (if any) would leave, without dropping it.
    public func interrupted() throws(ReconcileError) -> Abandoned? {
        guard let j = try Journal.load(root) else { return nil }
        let left = Array(j.steps[min(j.next, j.steps.count)...])
        var seen = Set<PCIAddress>()
        let shows = left.map(\.device).filter { seen.insert($0).inserted }.map(describe)
        return Abandoned(
            journalID: j.id, interruptedPID: j.pid, command: j.command, config: "\(j.configName) of \(j.configFile)",
            doneSteps: j.steps.prefix(j.next).map(\.description), leftSteps: left.map(\.description), hostShows: shows)
    }

    /// Drops the interrupted apply (if any): its journal goes, nothing on the host changes, and
    /// the next apply plans from the host as it is. Call with the lock held.
    public func abandon() throws(ReconcileError) -> Abandoned? {
        guard let a = try interrupted() else { return nil }
        try Journal.remove(root)
        return a
    }

    /// The sentence of a recovery that cannot go on.
    func recoveryStopped(_ j: Journal, step: Action, _ error: ReconcileError) -> String {
        "recovery of the apply interrupted in pid \(j.pid) ('\(j.command)') stopped at step \(j.next + 1) of \(j.steps.count), "
            + "'\(step)': \(error.message); the host shows \(describe(step.device)). "
            + "Fix that and run 'vgpuctl recover' again, or drop the interrupted apply with 'vgpuctl recover --abandon' "
            + "(or 'vgpuctl apply --abandon-interrupted') and apply from the host as it is"
    }

    /// One device as the host shows it: driver, override, VFs, vGPU files.
    func describe(_ a: PCIAddress) -> String {
        let sysfs = SysfsReader(root: root)
        guard let d = sysfs.device(a) else { return "\(a) absent" }
        var parts = [d.driver.map { "bound to \($0)" } ?? "bound to no driver"]
        if let o = d.driverOverride { parts.append("driver_override \(o)") }
        if let sr = d.sriov {
            let present = sr.vfs.filter { sysfs.device($0) != nil }.count
            parts.append("sriov_numvfs \(sr.numVFs)" + (present == sr.numVFs ? "" : " but \(present) VF directories"))
        }
        if d.physfn != nil && d.driver == "nvidia" {
            parts.append(
                sysfs.exists(HostRoot.deviceFile(a, "nvidia/current_vgpu_type"))
                    ? "nvidia/current_vgpu_type present" : "no nvidia/ directory")
        }
        return "\(a) " + parts.joined(separator: ", ")
    }
}
