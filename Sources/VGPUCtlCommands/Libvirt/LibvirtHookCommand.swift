import ArgumentParser
import Foundation
import HostKit
import Hypervisor
import Reconcile

/// `vgpuctl libvirt-hook GUEST OPERATION SUBOP EXTRA`: the libvirt QEMU hook
/// (contrib/libvirt/vgpuctl, installed as /etc/libvirt/hooks/qemu.d/vgpuctl).
struct LibvirtHookCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "libvirt-hook",
        abstract:
            "The libvirt QEMU hook: domain XML on stdin; prepares vgpuctl's devices at 'prepare begin', releases them at 'release end'.",
        discussion: """
            At 'prepare begin' every <hostdev> naming a device vgpuctl manages (one it assigned, a VF the applied \
            host config gives to a guest, an NVIDIA GPU or VF) must exist and be ready for VFIO: an unbound one is \
            assigned; on any failure what this call assigned is given back and the hook exits non-zero with a \
            one-line reason, so libvirt does not start the guest. At 'release end' what 'prepare' assigned for the \
            guest is released. Other operations, and XML naming nothing vgpuctl manages, exit 0 at once. It never \
            calls libvirt. Exit status: 0 done; 1 a device is not ready; 2 malformed XML or arguments; 4 a device \
            is in use or belongs to another guest.
            """)

    @Argument(help: "The guest (domain) name.") var guest: String
    @Argument(help: "libvirt's operation (prepare, start, started, stopped, release, ...).") var operation: String
    @Argument(help: "libvirt's sub-operation (begin, end, ...).") var subop: String
    @Argument(help: "libvirt's extra argument ('-' when none).") var extra: String = "-"
    @OptionGroup var lock: LockOptions
    @OptionGroup var host: HostOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        // libvirt writes the XML for every operation; read it all so it never blocks on a pipe.
        let xml = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        let op = LibvirtHook.Operation(operation, subop)
        guard op != .other else { return try printNothing() }
        guard !guest.isEmpty else { throw CommandError.invalid(.badOption, "the guest name (first argument) is empty") }
        let ctx = try HostContext(host)
        switch op {
        case .prepareBegin:
            let domain = try DomainXML.parse(xml)
            let assignments = try GuestAssignments.load(ctx.root)
            var vfs: [PCIAddress: String] = [:]
            for (k, v) in assignments.vfs { if let a = PCIAddress(k) { vfs[a] = v } }
            let hook = LibvirtHook(root: ctx.root, kernel: ctx.kernel, guestVFs: vfs)
            let managed = try hook.managed(in: domain)
            // The guest's own VFs (by its name, as apply recorded them) that its XML leaves out.
            let missing = assignments.vfs(of: guest).filter { a in !managed.contains { $0.address == a } }
            if !missing.isEmpty {
                printNote(
                    "the host config gives '\(guest)' \(missing.map(\.description).joined(separator: ", ")), which its domain XML does not name; 'vgpuctl libvirt xml --guest \(guest)' writes the <hostdev>s"
                )
            }
            if managed.isEmpty { return try printNothing() }
            try HandOffEngineGate.check(managed.map(\.address), ctx)
            let outcome = try ctx.mutate("libvirt-hook \(guest) prepare begin", lock: lock) {
                try hook.prepare(guest: guest, devices: managed)
            }
            if output.json { try printJSON(outcome) }
        case .releaseEnd:
            guard FileManager.default.fileExists(atPath: ctx.root.url(LibvirtHook.recordFile(guest))) else {
                return try printNothing()
            }
            let hook = LibvirtHook(root: ctx.root, kernel: ctx.kernel)
            let outcome = try ctx.mutate("libvirt-hook \(guest) release end", lock: lock) {
                try hook.release(guest: guest)
            }
            if output.json { try printJSON(outcome) }
        case .other:
            return
        }
    }

    /// With --json, a call that does nothing still prints its (empty) outcome.
    func printNothing() throws {
        struct Nothing: Encodable {
            var guest: String
            var assigned: [String] = []
            var ready: [String] = []
            var released: [String] = []
        }
        if output.json { try printJSON(Nothing(guest: guest)) }
    }
}
