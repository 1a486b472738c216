import Foundation
import HostKit
import Passthrough

/// The libvirt QEMU hook (`/etc/libvirt/hooks/qemu.d/vgpuctl GUEST OPERATION SUBOP EXTRA`,
/// domain XML on stdin; libvirt docs/hooks.rst). It never calls libvirt.
///
/// - `prepare begin` (before libvirt prepares host devices): every `<hostdev>` that names a
///   device vgpuctl manages must exist and be ready for VFIO; one that is not yet bound is
///   assigned (`passthrough assign`) and remembered for this guest. Any failure undoes what
///   this call assigned and exits non-zero, so libvirt does not start a half-equipped guest.
/// - `release end` (last, after the guest stopped): releases what `prepare` assigned for it.
/// - Any other operation: nothing.
///
/// vgpuctl manages a device it has assigned (passthrough state), a VF the host config gives
/// to a guest (``guestVFs``), and NVIDIA GPUs and their VFs.
public struct LibvirtHook {
    public let root: HostRoot
    public let kernel: any Kernel
    /// VF -> guest, as the applied host config says (Reconcile's `guests.json`).
    public let guestVFs: [PCIAddress: String]

    public init(root: HostRoot, kernel: any Kernel, guestVFs: [PCIAddress: String] = [:]) {
        self.root = root
        self.kernel = kernel
        self.guestVFs = guestVFs
    }

    public enum Operation: Sendable, Equatable {
        case prepareBegin
        case releaseEnd
        case other

        public init(_ operation: String, _ subop: String) {
            switch (operation, subop) {
            case ("prepare", "begin"): self = .prepareBegin
            case ("release", "end"): self = .releaseEnd
            default: self = .other
            }
        }
    }

    /// A hostdev of the domain that vgpuctl manages, and why.
    public struct Managed: Sendable, Equatable, Encodable {
        public var address: PCIAddress
        /// `assigned` (passthrough state), `host-config` (a VF for a guest), `gpu` (NVIDIA).
        public var reason: String
        /// The mdev the domain names (its parent VF is `address`), for an mdev hostdev.
        public var mdev: String? = nil
        /// `managed='yes'` in the domain XML: libvirt rebinds the device itself.
        public var libvirtManaged = false
    }

    /// What a hook call did.
    public struct Outcome: Sendable, Encodable {
        public var guest: String
        /// Devices this call assigned to VFIO.
        public var assigned: [String] = []
        /// Devices that were ready already.
        public var ready: [String] = []
        /// Devices this call released.
        public var released: [String] = []
    }

    /// Where the hook remembers what it assigned for each guest (lost at reboot with `/run`).
    public static let recordDir = HostRoot.runDir + "/libvirt-hook"

    struct Record: Codable {
        var format = 1
        var guest: String
        var assigned: [String]
    }

    /// The record file of `guest` (its name made safe for a file name).
    public static func recordFile(_ guest: String) -> String {
        var safe = ""
        for u in guest.unicodeScalars {
            if ("a"..."z").contains(u) || ("A"..."Z").contains(u) || ("0"..."9").contains(u) || u == "-" || u == "_"
                || u == "."
            {
                safe.unicodeScalars.append(u)
            } else {
                safe += "%" + String(format: "%02X", u.value)
            }
        }
        return "\(recordDir)/\(safe.hasPrefix(".") ? "%2E" + safe.dropFirst() : Substring(safe)).json"
    }

    /// The domain's hostdevs vgpuctl manages (reads only).
    public func managed(in domain: DomainXML) throws(HypervisorError) -> [Managed] {
        let state = try HypervisorError.wrapping(.passthroughState) { try PassthroughState.load(root) }
        let sysfs = SysfsReader(root: root)
        var out: [Managed] = []
        func isNVIDIA(_ a: PCIAddress) -> Bool {
            guard let d = sysfs.device(a) else { return false }
            return d.isNVIDIAGPU || (d.physfn.flatMap(sysfs.device)?.isNVIDIAGPU ?? false)
        }
        for h in domain.hostdevs {
            switch h {
            case .pci(let a, let libvirtManaged):
                if state.devices[a.description] != nil {
                    out.append(Managed(address: a, reason: "assigned", libvirtManaged: libvirtManaged))
                } else if guestVFs[a] != nil {
                    out.append(Managed(address: a, reason: "host-config", libvirtManaged: libvirtManaged))
                } else if isNVIDIA(a) {
                    out.append(Managed(address: a, reason: "gpu", libvirtManaged: libvirtManaged))
                }
            case .mdev(let uuid):
                // An mdev on a VF: the VF is what the host config gives to a guest.
                guard let parent = Self.mdevParent(uuid, sysfs) else { continue }
                if guestVFs[parent] != nil || isNVIDIA(parent) {
                    out.append(
                        Managed(address: parent, reason: guestVFs[parent] != nil ? "host-config" : "gpu", mdev: uuid))
                }
            }
        }
        return out
    }

    /// The PCI device an mdev lives on (`sys/bus/mdev/devices/<uuid>` -> `.../<parent>/<uuid>`).
    static func mdevParent(_ uuid: String, _ sysfs: SysfsReader) -> PCIAddress? {
        guard let target = sysfs.link("\(DeviceResolver.mdevDevices)/\(uuid)") else { return nil }
        let parts = target.split(separator: "/")
        return parts.count >= 2 ? PCIAddress(String(parts[parts.count - 2])) : nil
    }

    /// `prepare begin`: makes every managed hostdev ready, or undoes this call's assignments and
    /// throws a one-line reason.
    public func prepare(guest: String, devices: [Managed]) throws(HypervisorError) -> Outcome {
        let sysfs = SysfsReader(root: root)
        let manager = PassthroughManager(root: root, kernel: kernel)
        var outcome = Outcome(guest: guest)
        var record = try loadRecord(guest) ?? Record(guest: guest, assigned: [])
        do throws(HypervisorError) {
            for m in devices {
                let a = m.address
                if let owner = guestVFs[a], owner != guest {
                    throw HypervisorError.refused(
                        .otherGuest,
                        "\(a) is for guest '\(owner)' in the host config, not for '\(guest)'; change the domain XML or the host config"
                    )
                }
                guard let d = sysfs.device(a) else {
                    let hint =
                        m.reason == "host-config"
                        ? "apply the host config ('vgpuctl apply') to create it" : "check the address in the domain XML"
                    throw HypervisorError.failed(
                        .noSuchDevice, "\(a) in the domain XML of '\(guest)' does not exist on this host; \(hint)")
                }
                if let uuid = m.mdev {
                    outcome.ready.append(uuid)
                    continue
                }
                if let typed = TypedVF.read(d, sysfs) {
                    // Handed over as it is; libvirt must not rebind it.
                    if m.libvirtManaged, case .vendor = typed {
                        throw HypervisorError.invalid(
                            .typedVF,
                            "\(a) in the domain XML of '\(guest)' carries a vGPU but its <hostdev> says managed='yes': libvirt would rebind it to vfio-pci, which fails and destroys the vGPU; use managed='no' ('vgpuctl libvirt xml \(a)' writes it)"
                        )
                    }
                    if case .mdev(let uuid, _) = typed {
                        throw HypervisorError.invalid(
                            .typedVF,
                            "\(a) in the domain XML of '\(guest)' carries its vGPU as mdev \(uuid): name the mdev (<hostdev type='mdev'>, 'vgpuctl libvirt xml \(a)' writes it), not the VF"
                        )
                    }
                    outcome.ready.append(a.description)
                } else if DeviceResolver.isReady(d) {
                    outcome.ready.append(a.description)
                } else {
                    // Refused (exit 4) while a process or the kernel uses the device; the hook has no --force.
                    let r = try HypervisorError.wrapping(.assignFailed) {
                        try manager.assign(a, includeGroup: false, forceOverrides: false)
                    }
                    if !r.alreadyAssigned {
                        outcome.assigned.append(a.description)
                        record.assigned.append(a.description)
                        try saveRecord(record)
                    }
                }
                if let h = sysfs.vfioHolders(a).first {
                    throw HypervisorError.refused(
                        .inUse,
                        "\(a) is in use by pid \(h.pid) (\(h.command)) through \(h.file); '\(guest)' cannot start with it until that VM stops"
                    )
                }
            }
        } catch {
            // Give back what this call took, so a failed start changes nothing. A device that
            // cannot be given back stays in the guest's record, so 'release end' (or the next
            // prepare) can finish the job, and the error says so.
            var stuck: [String] = []
            for s in outcome.assigned.reversed() {
                guard let a = PCIAddress(s) else { continue }
                do throws(PassthroughError) {
                    _ = try manager.release(a)
                    record.assigned.removeAll { $0 == s }
                } catch {
                    stuck.append("\(s) (\(error.message))")
                }
            }
            var message = error.message
            do throws(HypervisorError) {
                if record.assigned.isEmpty {
                    try? FileManager.default.removeItem(atPath: root.url(Self.recordFile(guest)))
                } else {
                    try saveRecord(record)
                }
            } catch let e {
                message += "; and the hook's record could not be updated: \(e.message)"
            }
            if !stuck.isEmpty {
                message +=
                    "; giving back what this call assigned also failed for \(stuck.joined(separator: ", ")): they stay recorded for '\(guest)' and 'release end' releases them"
            }
            throw HypervisorError(error.code, error.status, message, cause: error.cause, underlying: error.underlying)
        }
        return outcome
    }

    /// `release end`: releases what `prepare` assigned for `guest`; a device a process still
    /// holds is left assigned (and reported).
    public func release(guest: String) throws(HypervisorError) -> Outcome {
        var outcome = Outcome(guest: guest)
        guard var record = try loadRecord(guest) else { return outcome }
        let manager = PassthroughManager(root: root, kernel: kernel)
        let state = try HypervisorError.wrapping(.passthroughState) { try PassthroughState.load(root) }
        var failures: [String] = []
        for s in record.assigned {
            guard let a = PCIAddress(s), state.devices[s] != nil else { continue }
            do throws(PassthroughError) {
                _ = try manager.release(a)
                outcome.released.append(s)
            } catch {
                failures.append(error.message)
            }
        }
        record.assigned.removeAll { outcome.released.contains($0) || state.devices[$0] == nil }
        if record.assigned.isEmpty {
            try? FileManager.default.removeItem(atPath: root.url(Self.recordFile(guest)))
        } else {
            try saveRecord(record)
        }
        if !failures.isEmpty { throw .failed(.releaseFailed, failures.joined(separator: "; ")) }
        return outcome
    }

    func loadRecord(_ guest: String) throws(HypervisorError) -> Record? {
        let path = root.url(Self.recordFile(guest))
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        do { return try JSONDecoder().decode(Record.self, from: data) } catch {
            throw .failed(
                .hookRecord, "\(path) is damaged (\(error)); remove it (it lists what the hook assigned for '\(guest)')"
            )
        }
    }

    func saveRecord(_ r: Record) throws(HypervisorError) {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        let path = root.url(Self.recordFile(r.guest))
        do { try AtomicFile.write(try enc.encode(r), to: path) } catch let e as HostKitError {
            throw HypervisorError(.hookRecord, wrapping: e)
        } catch {
            throw .failed(.hookRecord, "cannot write \(path): \(error)")
        }
    }
}
