import ArgumentParser
import Foundation
import HostKit
import VGPUTypes
import VirtualFunctions

extension VF {
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
            for p in vgpu.engineProblems { print("problem: \(p)") }
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
