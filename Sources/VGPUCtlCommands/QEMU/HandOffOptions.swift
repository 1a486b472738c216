import ArgumentParser
import Foundation
import HostKit
import HostSim
import Hypervisor
import NVGraceEGM

/// `--qemu PATH` / `--qemu-version X.Y`: which QEMU the arguments are for.
struct QEMUBinaryOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The QEMU that will run the guest, asked what it supports (default: \(QEMUCapabilities.defaultBinaryName) on PATH).",
            valueName: "PATH"))
    var qemu: String?

    @Option(
        name: .customLong("qemu-version"),
        help: ArgumentHelp(
            "Plan for this QEMU release instead of asking a binary (one not installed here).", valueName: "X.Y"))
    var qemuVersion: String?

    /// Malformed options are refused while parsing, before anything else runs or prints.
    func validate() throws {
        if qemu != nil && qemuVersion != nil { throw ValidationError("pass either --qemu or --qemu-version, not both") }
        if let v = qemuVersion, QEMUVersion(v) == nil {
            throw ValidationError("--qemu-version '\(v)' is not a QEMU version such as 9.2 or 7.2.22")
        }
    }

    /// What the QEMU can do: from --qemu-version, or asked of the binary.
    func capabilities() throws(HypervisorError) -> QEMUCapabilities {
        if qemu != nil && qemuVersion != nil {
            throw .invalid(.badOption, "pass either --qemu or --qemu-version, not both")
        }
        if let v = qemuVersion {
            guard let version = QEMUVersion(v) else {
                throw .invalid(.badOption, "--qemu-version '\(v)' is not a QEMU version such as 9.2 or 7.2.22")
            }
            return .planned(version)
        }
        if let q = qemu {
            guard let path = QEMUCapabilities.locate(q, path: ProcessInfo.processInfo.environment["PATH"]) else {
                throw .invalid(.qemuCapability, "no executable QEMU at '\(q)' (--qemu)")
            }
            return try QEMUCapabilities.detect(binary: path)
        }
        let name = QEMUCapabilities.defaultBinaryName
        guard let path = QEMUCapabilities.locate(name, path: ProcessInfo.processInfo.environment["PATH"]) else {
            return QEMUCapabilities(source: .none(searched: name), version: nil)
        }
        return try QEMUCapabilities.detect(binary: path)
    }
}

/// `--plan` / `--include-group`: devices not assigned yet.
struct PlanOptions: ParsableArguments {
    @Flag(
        name: .long,
        help:
            "Devices not assigned yet: print what 'passthrough assign' would do (stderr) and the arguments they would get. Changes nothing."
    )
    var plan = false

    @Flag(name: .long, help: "With --plan: as 'passthrough assign --include-group'.")
    var includeGroup = false

    func resolve(_ names: [String], root: HostRoot) throws(HypervisorError) -> [AssignedDevice] {
        if includeGroup && !plan { throw .invalid(.badOption, "--include-group goes with --plan") }
        let devices = try DeviceResolver(root: root).resolve(names, plan: plan, includeGroup: includeGroup)
        for d in devices where d.isPlanned {
            let steps = d.pendingSteps.map {
                "\($0.address) (\($0.fromDriver ?? "unbound") -> \($0.toDriver)\($0.reason == "requested" ? "" : ", \($0.reason)"))"
            }
            printNote(
                "\(d.name) is not assigned yet; 'vgpuctl passthrough assign \(d.name)\(includeGroup ? " --include-group" : "")' would bind \(steps.joined(separator: ", "))"
            )
        }
        return devices
    }
}

/// `--addr` and `--rombar`: where devices go in the guest.
struct PlacementOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Guest slot of the first device (e.g. 04 or 04.0); each further device takes the next slot, its companion functions the same slot.",
            valueName: "SLOT"))
    var addr: String?

    @Option(
        name: .long,
        help: ArgumentHelp("Expose the device ROM BAR (1) or not (0); Grace GPUs get 0 unless set.", valueName: "0|1"))
    var rombar: Int?

    @Option(
        name: .customLong("first-node"),
        help: ArgumentHelp(
            "First guest NUMA node for Grace GPUs (8 per GPU) and EGM: the guest's own nodes are 0 to N-1.",
            valueName: "N"))
    var firstNode: Int = 1

    /// The slot of `--addr` (`04`, `04.0`, `0x4`); exit 2 for anything else.
    func slot() throws(CommandError) -> UInt8? {
        guard let addr else { return nil }
        var t = Substring(addr.lowercased())
        if t.hasPrefix("0x") { t = t.dropFirst(2) }
        let parts = t.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), (1...2).contains(parts[0].count), let s = UInt8(parts[0], radix: 16),
            s < 32,
            parts.count == 1 || parts[1] == "0"
        else {
            throw .invalid(
                .badOption, "--addr '\(addr)' is not a guest slot such as 04 or 04.0 (slot 00-1f, function 0)")
        }
        return s
    }
}

/// Prints `vgpuctl: note: ...` on stderr.
func printNote(_ message: String) {
    FileHandle.standardError.write(Data(("vgpuctl: note: " + message + "\n").utf8))
}
