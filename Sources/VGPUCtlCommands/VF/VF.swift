import ArgumentParser
import Foundation
import HostKit
import VGPUTypes
import VirtualFunctions

/// `vgpuctl vf`: SR-IOV virtual functions.
struct VF: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Enable, disable and list SR-IOV virtual functions; give them vGPU types.",
        subcommands: [Enable.self, Disable.self, ListVFs.self, Create.self, Assign.self, Clear.self])
}

/// One VF as printed.
struct VFRow: Encodable {
    var index: Int
    var address: String
    var pf: String
    var driver: String?
    var iommuGroup: Int?
    var openBy: [VFIOHolder]
    /// The VF's vGPU type, and the guest the applied host config gave it.
    var vgpuType: String? = nil
    var guest: String? = nil

    enum CodingKeys: String, CodingKey { case index, address, pf, driver, iommuGroup, openBy, vgpuType, guest }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(index, forKey: .index)
        try c.encode(address, forKey: .address)
        try c.encode(pf, forKey: .pf)
        try c.encode(driver, forKey: .driver)  // null when unbound
        try c.encode(iommuGroup, forKey: .iommuGroup)
        try c.encode(openBy, forKey: .openBy)
        try c.encode(vgpuType, forKey: .vgpuType)  // null when none
        try c.encode(guest, forKey: .guest)  // null when the host config names none
    }

    static func rows(pf: PCIAddress, _ sysfs: SysfsReader, vgpu: VGPUListing? = nil) -> [VFRow] {
        (sysfs.device(pf)?.sriov?.vfs ?? []).enumerated().map { i, vf in
            let d = sysfs.device(vf)
            return VFRow(
                index: i, address: vf.description, pf: pf.description, driver: d?.driver,
                iommuGroup: d?.iommuGroup, openBy: sysfs.vfioHolders(vf), vgpuType: vgpu?.types[vf],
                guest: vgpu?.guests[vf])
        }
    }

    static func table(_ rows: [VFRow]) -> String {
        renderTable(
            ["PF", "VF", "ADDRESS", "DRIVER", "GROUP", "VGPU TYPE", "GUEST", "OPEN BY"],
            rows.map {
                [
                    $0.pf, String($0.index), $0.address, $0.driver ?? "-", $0.iommuGroup.map(String.init) ?? "-",
                    $0.vgpuType ?? "-", $0.guest ?? "-",
                    $0.openBy.isEmpty ? "-" : $0.openBy.map { "\($0.pid) (\($0.command))" }.joined(separator: ", "),
                ]
            })
    }
}

extension VF {
    struct Enable: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Enable N VFs on a PF and wait until they exist.",
            discussion:
                "Sets sriov_drivers_autoprobe to 0 (new VFs stay unbound) unless --autoprobe. Changing a nonzero count needs --force."
        )

        @Argument(help: "The PF's PCI address.") var pf: String
        // `.unconditional`: a negative value is the value (and is refused as out of range), not
        // a missing one.
        @Option(name: .long, parsing: .unconditional, help: "Number of VFs.") var count: Int
        @Option(name: .long, parsing: .unconditional, help: "Seconds to wait for the VFs to appear.") var timeout:
            Double = 30
        @Flag(name: .long, help: "Let drivers bind the new VFs (sriov_drivers_autoprobe=1).") var autoprobe = false
        @Flag(name: .long, help: "Change a nonzero VF count (removes the existing VFs).") var force = false
        @OptionGroup var host: HostOptions
        @OptionGroup var lock: LockOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let pfAddr = try address(pf, what: "PF address")
            guard timeout > 0, timeout <= 3600 else {
                throw VGPUError.invalid("--timeout must be between 0 and 3600 seconds, not \(timeout)")
            }
            guard count >= 0 else { throw VGPUError.invalid("--count must be 0 or more, not \(count)") }
            var ctx = try HostContext(host)
            ctx.progress = TerminalProgress.forStderr(json: output.json)
            let c = VFController(root: ctx.root, kernel: ctx.kernel, waiterFactory: ctx.vfWaiterFactory)
            // A count above TotalVFs is refused before any other check (the kernel's ERANGE sentence).
            if let total = try c.pf(pfAddr).sriov?.totalVFs, count > total {
                throw VGPUError.invalid("\(pfAddr) supports at most \(total) VFs")
            }
            let (outcome, _) = try ctx.mutate(commandLineText, lock: lock) {
                try c.enable(
                    pfAddr, count: count, force: force, autoprobe: autoprobe,
                    timeout: .milliseconds(Int(timeout * 1000)))
            }
            let rows = VFRow.rows(pf: pfAddr, ctx.sysfs)
            if output.json {
                struct Out: Encodable {
                    var pf: String
                    var outcome: VFController.Outcome
                    var vfs: [VFRow]
                }
                try printJSON(Out(pf: pfAddr.description, outcome: outcome, vfs: rows))
                return
            }
            switch outcome {
            case .unchanged: print("\(pfAddr) already has \(count) VFs; nothing changed")
            case .enabled: print("enabled \(count) VFs on \(pfAddr)")
            case .changed: print("changed \(pfAddr) to \(count) VFs")
            }
            if !rows.isEmpty { print(VFRow.table(rows)) }
        }
    }

    struct Disable: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Disable every VF of a PF (refused while a VF is open by a process, unless --force).")

        @Argument(help: "The PF's PCI address.") var pf: String
        @Flag(name: .long, help: "Disable even when a process holds a VF open.") var force = false
        @OptionGroup var host: HostOptions
        @OptionGroup var lock: LockOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let pfAddr = try address(pf, what: "PF address")
            let ctx = try HostContext(host)
            let c = VFController(root: ctx.root, kernel: ctx.kernel, waiterFactory: ctx.vfWaiterFactory)
            let removed = try ctx.mutate(commandLineText, lock: lock) { try c.disable(pfAddr, force: force) }
            if output.json {
                struct Out: Encodable {
                    var pf: String
                    var removed: [String]
                }
                try printJSON(Out(pf: pfAddr.description, removed: removed.map(\.description)))
            } else if removed.isEmpty {
                print("\(pfAddr) has no VFs; nothing changed")
            } else {
                print("disabled \(removed.count) VFs on \(pfAddr)")
            }
        }
    }

    struct ListVFs: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List VFs (of one PF, or of every SR-IOV PF).")

        @Argument(help: "A PF's PCI address.") var pf: String?
        @OptionGroup var host: HostOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let only = try pf.map { s throws(VGPUError) in try address(s, what: "PF address") }
            let root = try host.hostRoot()
            let sysfs = SysfsReader(root: root)
            var pfs: [PCIDevice]
            if let only {
                pfs = [
                    try VFController(root: root, kernel: SysfsKernel(root: root), waiterFactory: { SysfsVFWaiter() })
                        .pf(only)
                ]
            } else {
                pfs = sysfs.allDevices().filter { $0.sriov != nil }
            }
            let vgpu = try VGPUListing.read(root: root, pfs: pfs)
            let rows = pfs.flatMap { VFRow.rows(pf: $0.address, sysfs, vgpu: vgpu) }
            if output.json {
                struct PF: Encodable {
                    var pf: String
                    var totalVFs: Int
                    var numVFs: Int
                    var vfs: [VFRow]
                    var backend: String?
                    var freeVFSlots: Int?
                    var fits: [VGPUListing.Fit]?
                    var problem: String?
                }
                struct Out: Encodable { var pfs: [PF] }
                try printJSON(
                    Out(
                        pfs: pfs.map { p in
                            let i = vgpu.pfs[p.address]
                            return PF(
                                pf: p.address.description, totalVFs: p.sriov?.totalVFs ?? 0,
                                numVFs: p.sriov?.numVFs ?? 0,
                                vfs: rows.filter { $0.pf == p.address.description },
                                backend: i?.backend, freeVFSlots: i?.freeVFSlots, fits: i?.fits, problem: i?.problem)
                        }))
                return
            }
            if rows.isEmpty {
                print(
                    pfs.isEmpty
                        ? "no SR-IOV PFs"
                        : pfs.map { "\($0.address): 0 of \($0.sriov?.totalVFs ?? 0) VFs enabled" }.joined(
                            separator: "\n"))
            } else {
                print(VFRow.table(rows))
            }
            // Free slots and what fits: for the PF named, or every PF with VFs or vGPU types.
            let summaries = pfs.filter {
                only != nil || ($0.sriov?.numVFs ?? 0) > 0
                    || vgpu.pfs[$0.address]?.backend != VGPUBackendKind.generic.rawValue
            }
            .compactMap { vgpu.summary($0.address) }
            if !summaries.isEmpty { print(summaries.joined(separator: "\n")) }
        }
    }
}
