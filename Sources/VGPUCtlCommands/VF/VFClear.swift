import ArgumentParser
import Foundation
import HostKit
import VGPUTypes
import VirtualFunctions

extension VF {
    struct Clear: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "clear",
            abstract: "Remove the vGPU type of a VF (refused while a VM holds the VF).",
            discussion:
                "Refused with exit 4 while a process (a VM) holds the VF's VFIO files, or its mdev device's, or any other file of the VF open, unless --force."
        )

        @Argument(help: "The VF's PCI address.") var vf: String
        @Flag(name: .long, help: "Clear the type even while a process or VM uses the VF.") var force = false
        @OptionGroup var host: HostOptions
        @OptionGroup var lock: LockOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let vfAddr = try address(vf, what: "VF address")
            let ctx = try HostContext(host)
            let pf = try ctx.pfOf(vfAddr)
            let backend = try ctx.vgpuBackend(pf)
            var cleared: String?
            var scrubs: [ScrubReport] = []
            if let typed = backend as? TypedVFBackend {
                if !output.json {
                    typed.scrubProgress = { p in
                        if p.done < p.total {
                            printProgress("scrubbing VF \(p.vf): \(p.done >> 20) of \(p.total >> 20) MiB")
                        }
                    }
                }
                let r = try typed.ref(vfAddr)
                if let cur = try typed.view().assignments[r.index] {
                    if !force,
                        let e = DeviceUser.refusal(
                            vfAddr.description, DeviceUsage(root: ctx.root).users(of: vfAddr),
                            doing: "clearing its type (\(cur.typeName))")
                    {
                        throw e
                    }
                    if !force, let h = try typed.holders(vfAddr).first {
                        throw CommandError.refused(
                            .inUse,
                            "\(vfAddr) (\(cur.typeName)) is open by pid \(h.pid) (\(h.command)) through \(h.file); clearing its type would pull the vGPU from under that VM; stop the VM first or pass --force"
                        )
                    }
                    try ctx.mutate(commandLineText, lock: lock) { try typed.clear(vf: vfAddr) }
                    cleared = cur.typeName
                    scrubs = typed.lastScrubs
                }
            }
            if output.json {
                struct Out: Encodable {
                    var vf: String
                    var pf: String
                    var cleared: String?
                    var backend: VGPUBackendKind
                    var scrubbed: [ScrubReport]
                }
                try printJSON(
                    Out(
                        vf: vfAddr.description, pf: pf.description, cleared: cleared, backend: backend.kind,
                        scrubbed: scrubs))
            } else if let cleared {
                print("cleared \(cleared) from \(vfAddr)")
                for s in scrubs { print("\(s.text): \(s.bytesZeroed) bytes holding data zeroed") }
            } else {
                print("\(vfAddr) has no vGPU type; nothing changed")
            }
        }
    }
}
