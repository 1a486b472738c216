import Foundation
import HostKit

/// Whole-device passthrough: binds a GPU or VF (and what must come with it) to its VFIO driver,
/// records the previous drivers, and restores them on release.
///
/// Binding goes through `driver_override` + `unbind` + `drivers_probe` (kernel-abi.md §1); the
/// Grace ids bind to `nvgrace_gpu_vfio_pci` only that way. A VFIO group is viable only when every
/// device in it is bound to a VFIO driver or to none (bridges excepted), so companion functions
/// of the same device are bound too, and any other bound device in the group refuses the
/// assignment unless the caller includes the group.
public struct PassthroughManager {
    public let root: HostRoot
    public let kernel: any Kernel
    public let sysfs: SysfsReader
    /// Drivers that count as VFIO drivers (a group member bound to one is fine).
    /// (`nvidia-vgpu-vfio`: the VF variant driver of the upstream vGPU series, provisional.)
    public static let vfioDrivers: Set<String> = [
        "vfio-pci", "nvgrace_gpu_vfio_pci", "nvidia_vgpu_vfio", "nvidia-vgpu-vfio",
    ]

    public init(root: HostRoot, kernel: any Kernel) {
        self.root = root
        self.kernel = kernel
        self.sysfs = SysfsReader(root: root)
    }

    /// One device the plan binds.
    public struct Step: Sendable, Encodable, Equatable {
        public var address: PCIAddress
        public var fromDriver: String?
        public var toDriver: String
        public var reason: String

        enum CodingKeys: String, CodingKey { case address, fromDriver, toDriver, reason }
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(address, forKey: .address)
            try c.encode(fromDriver, forKey: .fromDriver)  // null when it was unbound
            try c.encode(toDriver, forKey: .toDriver)
            try c.encode(reason, forKey: .reason)
        }
    }

    /// The result of an assignment.
    public struct Assignment: Sendable, Encodable {
        public var device: PCIAddress
        public var vfioDriver: String
        public var iommuGroup: Int
        public var groupFile: String
        public var steps: [Step]
        public var alreadyAssigned: Bool
    }

    func device(_ a: PCIAddress) throws(PassthroughError) -> PCIDevice {
        guard let d = sysfs.device(a) else {
            throw .invalid(
                .noSuchDevice,
                "no PCI device \(a) under \(root.url(HostRoot.pciDevices)); run 'vgpuctl list --all' to see the addresses"
            )
        }
        return d
    }

    /// Works out what assigning `address` takes, without changing anything.
    public func plan(_ address: PCIAddress, includeGroup: Bool) throws(PassthroughError) -> Assignment {
        let d = try device(address)
        if d.isBridge { throw .invalid(.bridge, "\(address) is a PCI bridge; bridges are not passed through") }
        if let typed = TypedVF.read(d, sysfs) {
            throw .refused(
                .carriesVGPU,
                "\(address) carries a vGPU and is not rebound (unbinding it from nvidia would destroy the vGPU; vfio-pci cannot take it); \(typed.handoffAdvice(address))"
            )
        }
        let target = PCIIDs.vfioDriver(vendor: d.vendorID, device: d.deviceID).rawValue
        guard let group = d.iommuGroup else {
            throw .failed(
                .noIOMMU,
                "\(address) has no IOMMU group: the IOMMU is off; enable it (intel_iommu=on or amd_iommu=on on the kernel command line) and reboot"
            )
        }
        var steps: [Step] = []
        if d.driver != target {
            steps.append(Step(address: address, fromDriver: d.driver, toDriver: target, reason: "requested"))
        }
        var blockers: [PCIDevice] = []
        let records = try PassthroughState.load(root).devices
        for m in sysfs.iommuGroupMembers(group) where m != address {
            guard let md = sysfs.device(m) else { continue }
            if md.isBridge { continue }  // bridges are left alone
            if let drv = md.driver, Self.vfioDrivers.contains(drv) { continue }
            let companion = m.domain == address.domain && m.bus == address.bus && m.device == address.device
            if companion {
                // Unbound: viable as it is, unless vgpuctl recorded it as a companion to bind (an
                // assignment interrupted between its unbind and its bind): then it is finished.
                if md.driver == nil && records[m.description]?.vfioDriver == nil { continue }
                steps.append(Step(address: m, fromDriver: md.driver, toDriver: "vfio-pci", reason: "companion"))
            } else if md.driver != nil {
                if includeGroup {
                    steps.append(Step(address: m, fromDriver: md.driver, toDriver: "vfio-pci", reason: "group"))
                } else {
                    blockers.append(md)
                }
            }
        }
        if let b = blockers.first {
            let list = blockers.map { "\($0.address) (\($0.driver ?? "-"))" }.joined(separator: ", ")
            throw .refused(
                .groupInUse,
                "IOMMU group \(group) of \(address) also holds \(list), bound to a host driver; VFIO needs the whole group, so \(b.address) would lose its driver; pass --include-group to bind it to vfio-pci too"
            )
        }
        return Assignment(
            device: address, vfioDriver: target, iommuGroup: group, groupFile: "/dev/vfio/\(group)",
            steps: steps, alreadyAssigned: steps.isEmpty)
    }

    /// Assigns `address` to its VFIO driver. Idempotent: an assigned device is left as it is.
    /// Refused (exit 4, before any change) while a process or the kernel uses a device whose
    /// driver would change, unless `force`.
    /// `forceOverrides`: whether the caller offers --force (the libvirt hook does not).
    public func assign(
        _ address: PCIAddress, includeGroup: Bool, force: Bool = false, forceOverrides: Bool = true,
        now: Date = Date()
    ) throws(PassthroughError) -> Assignment {
        let plan = try plan(address, includeGroup: includeGroup)
        if plan.alreadyAssigned { return plan }
        if !force {
            let users = DeviceUsage(sysfs).users(of: plan.steps.map(\.address))
            for s in plan.steps {
                if let e = DeviceUser.refusal(
                    s.address.description, users[s.address] ?? [],
                    doing: "binding it to \(s.toDriver) (unbinding \(s.fromDriver ?? "no driver"))",
                    forceOverrides: forceOverrides)
                {
                    throw PassthroughError(.inUse, wrapping: e)
                }
            }
        }
        // Drivers must be loaded: vgpuctl loads nothing behind the operator's back.
        for drv in Set(plan.steps.map(\.toDriver)) where !sysfs.exists(HostRoot.driver(drv)) {
            let module = PCIIDs.VFIODriver(rawValue: drv)?.module ?? drv
            throw .failed(
                .driverNotLoaded, "the \(drv) driver is not loaded; load it with 'modprobe \(module)' and try again")
        }
        try PassthroughError.wrapping(.notPrivileged) {
            for s in plan.steps { try Privileges.requireWritable(root: root, .driverOverride(s.address)) }
            try Privileges.requireWritable(root: root, .driversProbe)
        }

        // Record first (intent), then bind.
        var state = try PassthroughState.load(root)
        let stamp = ISO8601DateFormatter().string(from: now)
        for s in plan.steps where state.devices[s.address.description] == nil {
            state.devices[s.address.description] = .init(
                assignedWith: address.description, previousDriver: s.fromDriver,
                vfioDriver: s.toDriver, iommuGroup: plan.iommuGroup,
                since: stamp, reason: s.reason)
        }
        try state.save(root)

        var done: [Step] = []
        do {
            for s in plan.steps {
                try bind(s.address, to: s.toDriver)
                done.append(s)
            }
        } catch {
            // Put back what was changed, then forget the records of this attempt, except for a
            // device that could not be put back: its record (the driver to restore) is kept so
            // 'passthrough release' can finish the job, and the error says so.
            var touched = done.reversed() as [Step]
            if let failed = plan.steps.first(where: { !done.contains($0) }) { touched.append(failed) }
            var stuck: [PCIAddress: String] = [:]
            for s in touched {
                do { try restore(s.address, previousDriver: s.fromDriver) } catch { stuck[s.address] = error.message }
            }
            for s in plan.steps where stuck[s.address] == nil { state.devices[s.address.description] = nil }
            var message = error.message
            do { try state.save(root) } catch {
                message += "; and the state file could not be updated: \(error.message)"
            }
            if !stuck.isEmpty {
                let list = stuck.sorted(by: { $0.key < $1.key }).map { "\($0.key) (\($0.value))" }.joined(
                    separator: ", ")
                message +=
                    "; rolling back also failed for \(list): their previous drivers stay recorded, run 'vgpuctl passthrough release' on them"
            }
            throw PassthroughError(error.code, error.status, message, cause: error.cause, underlying: error.underlying)
        }
        guard sysfs.exists("dev/vfio/\(plan.iommuGroup)") else {
            throw .failed(
                .noVFIOGroup,
                "\(address) is bound to \(plan.vfioDriver) but \(root.url("dev/vfio/\(plan.iommuGroup)")) did not appear; check 'dmesg' for VFIO errors"
            )
        }
        return plan
    }

    /// driver_override = driver, unbind from the current driver, drivers_probe; then checks.
    func bind(_ a: PCIAddress, to driver: String) throws(PassthroughError) {
        let d = try device(a)
        try write(driver, .driverOverride(a), d, .bindFailed)
        if let cur = d.driver { try write(a.description, .unbind(driver: cur), d, .bindFailed) }
        try write(a.description, .driversProbe, d, .bindFailed)
        let now = sysfs.device(a)?.driver
        guard now == driver else {
            throw .failed(
                .bindFailed,
                "\(a) did not bind to \(driver) (it is \(now.map { "bound to \($0)" } ?? "unbound")); check 'dmesg'")
        }
    }

    /// Clears driver_override, unbinds from the VFIO driver and binds the previous driver back.
    func restore(_ a: PCIAddress, previousDriver: String?) throws(PassthroughError) {
        let d = try device(a)
        try write("", .driverOverride(a), d, .restoreFailed)
        if let cur = d.driver, cur != previousDriver {
            try write(a.description, .unbind(driver: cur), d, .restoreFailed)
        }
        guard let prev = previousDriver, sysfs.device(a)?.driver == nil else { return }
        if sysfs.exists(HostRoot.driver(prev) + "/bind") {
            do { try kernel.write(a.description, to: .bind(driver: prev)) } catch {
                try write(a.description, .driversProbe, d, .restoreFailed)
            }
        } else {
            try write(a.description, .driversProbe, d, .restoreFailed)
        }
        let now = sysfs.device(a)?.driver
        guard now == prev else {
            throw .failed(
                .restoreFailed,
                "\(a) was released but did not bind back to \(prev) (it is \(now.map { "bound to \($0)" } ?? "unbound")); bind it by hand: echo \(a) > /sys/bus/pci/drivers/\(prev)/bind"
            )
        }
    }

    /// The result of a release.
    public struct Release: Sendable, Encodable {
        public var device: PCIAddress
        public var restored: [Step]
    }

    /// Releases `address` (and the devices assigned with it), restoring the recorded drivers.
    /// Refused (exit 4) while a process holds one of their VFIO files, unless `force` (an apply
    /// or recovery that has already checked the users of every function it disturbs).
    public func release(_ address: PCIAddress, force: Bool = false) throws(PassthroughError) -> Release {
        _ = try device(address)
        var state = try PassthroughState.load(root)
        guard let rec = state.devices[address.description] else {
            throw .invalid(
                .notAssigned,
                "\(address) was not assigned by vgpuctl (nothing in \(root.url(PassthroughState.file))); see 'vgpuctl passthrough list'"
            )
        }
        let members = state.group(of: PCIAddress(rec.assignedWith) ?? address)
        for (a, _) in members where !force {
            if let h = sysfs.vfioHolders(a).first {
                throw .refused(
                    .openByVM,
                    "\(a) is open by pid \(h.pid) (\(h.command)) through \(h.file); stop that VM or process before releasing it"
                )
            }
        }
        try PassthroughError.wrapping(.notPrivileged) {
            for (a, _) in members { try Privileges.requireWritable(root: root, .driverOverride(a)) }
        }
        var restored: [Step] = []
        for (a, r) in members {
            try restore(a, previousDriver: r.previousDriver)
            restored.append(
                Step(address: a, fromDriver: r.vfioDriver, toDriver: r.previousDriver ?? "(none)", reason: r.reason))
            state.devices[a.description] = nil
            try state.save(root)
        }
        return Release(device: address, restored: restored)
    }

    /// One listed assignment.
    public struct Listed: Sendable, Encodable {
        public var address: String
        public var assignedWith: String
        public var driver: String?
        public var vfioDriver: String
        public var previousDriver: String?
        public var iommuGroup: Int?
        public var since: String
        public var reason: String
        public var openBy: [VFIOHolder]
        /// False when the device is no longer bound to the VFIO driver vgpuctl bound.
        public var intact: Bool

        enum CodingKeys: String, CodingKey {
            case address, assignedWith, driver, vfioDriver, previousDriver, iommuGroup, since, reason, openBy, intact
        }
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(address, forKey: .address)
            try c.encode(assignedWith, forKey: .assignedWith)
            try c.encode(driver, forKey: .driver)  // null when unbound
            try c.encode(vfioDriver, forKey: .vfioDriver)
            try c.encode(previousDriver, forKey: .previousDriver)  // null when it was unbound
            try c.encode(iommuGroup, forKey: .iommuGroup)
            try c.encode(since, forKey: .since)
            try c.encode(reason, forKey: .reason)
            try c.encode(openBy, forKey: .openBy)
            try c.encode(intact, forKey: .intact)
        }
    }

    public func list() throws(PassthroughError) -> [Listed] {
        let state = try PassthroughState.load(root)
        return state.devices.keys.sorted().compactMap { k in
            guard let r = state.devices[k], let a = PCIAddress(k) else { return nil }
            let drv = sysfs.device(a)?.driver
            return Listed(
                address: k, assignedWith: r.assignedWith, driver: drv, vfioDriver: r.vfioDriver,
                previousDriver: r.previousDriver, iommuGroup: r.iommuGroup, since: r.since, reason: r.reason,
                openBy: sysfs.vfioHolders(a), intact: drv == r.vfioDriver)
        }
    }

    /// Writes a control file; a failure is the kernel's sentence under `code` (what was being
    /// done), the ``KernelError`` underneath it.
    func write(_ value: String, _ file: ControlFile, _ device: PCIDevice, _ code: PassthroughCode)
        throws(PassthroughError)
    {
        do { try kernel.write(value, to: file) } catch {
            throw PassthroughError(code, wrapping: error.explained(device: device))
        }
    }
}
