import Foundation

/// Enables and disables SR-IOV VFs through `sriov_numvfs`, the generic kernel ABI
/// (`Documentation/ABI/testing/sysfs-bus-pci`, `drivers/pci/iov.c`).
public struct VFController {
    public let root: HostRoot
    public let kernel: any Kernel
    public let sysfs: SysfsReader
    /// Waits for the kernel to finish creating VFs: uevents on a real host, nothing on a
    /// simulated one (its kernel is synchronous).
    public let waiterFactory: @Sendable () throws(VGPUError) -> any VFWaiter

    public init(
        root: HostRoot, kernel: any Kernel, waiterFactory: @escaping @Sendable () throws(VGPUError) -> any VFWaiter
    ) {
        self.root = root
        self.kernel = kernel
        self.sysfs = SysfsReader(root: root)
        self.waiterFactory = waiterFactory
    }

    /// Reads a PF and checks that it has SR-IOV. Invalid input when it does not exist or has none.
    public func pf(_ a: PCIAddress) throws(VGPUError) -> PCIDevice {
        guard let d = sysfs.device(a) else {
            throw .invalid(
                .noSuchDevice,
                "no PCI device \(a) under \(root.url(HostRoot.pciDevices)); run 'vgpuctl list --all' to see the addresses"
            )
        }
        if let parent = d.physfn { throw .invalid(.notAPF, "\(a) is a VF (of \(parent)); VFs are enabled on their PF") }
        guard d.sriov != nil else {
            throw .invalid(.noSRIOV, "\(a) (\(d.id)) has no SR-IOV capability (no sriov_totalvfs in sysfs)")
        }
        return d
    }

    /// `pf(_:)` with its SR-IOV state, which `pf(_:)` has checked is there.
    private func sriovPF(_ a: PCIAddress) throws(VGPUError) -> (PCIDevice, PCIDevice.SRIOVState) {
        let d = try pf(a)
        guard let sr = d.sriov else {
            throw .invalid(.noSRIOV, "\(a) (\(d.id)) has no SR-IOV capability (no sriov_totalvfs in sysfs)")
        }
        return (d, sr)
    }

    /// The addresses the kernel will give VFs 0..<count, from the PF's SR-IOV offset and stride
    /// (sysfs `sriov_offset`/`sriov_stride`).
    public func expectedVFs(_ pf: PCIDevice, count: Int) -> [PCIAddress] {
        let base = HostRoot.deviceFile(pf.address, "")
        let off = SysfsParse.int(sysfs.text(base + "sriov_offset")) ?? 1
        let stride = SysfsParse.int(sysfs.text(base + "sriov_stride")) ?? 1
        return (0..<count).compactMap { i in
            let rid = Int(pf.address.routingID) + off + i * stride
            return rid <= 0xFFFF ? PCIAddress(domain: pf.address.domain, routingID: UInt16(rid)) : nil
        }
    }

    /// What `enable` did.
    public enum Outcome: String, Sendable, Encodable {
        case unchanged, enabled, changed
    }

    /// Enables `count` VFs on `pfAddress`.
    ///
    /// Order: a count above TotalVFs is refused first (the kernel's ERANGE sentence); the same
    /// count is a no-op; a different nonzero count is refused unless `force` (VFs may be in
    /// use), and with `force` refused while a VF is open by a process; `sriov_drivers_autoprobe`
    /// is set (0 unless `autoprobe`); 0 is written first when changing; then N; then the VFs are
    /// waited for until `timeout`.
    public func enable(
        _ pfAddress: PCIAddress, count: Int, force: Bool, autoprobe: Bool,
        timeout: Duration
    ) throws(VGPUError) -> (Outcome, [PCIDevice]) {
        let (pf, sr) = try sriovPF(pfAddress)
        guard count >= 0 else { throw .invalid(.vfCount, "VF count must be 0 or more, not \(count)") }
        if count > sr.totalVFs { throw .invalid(.vfCount, "\(pfAddress) supports at most \(sr.totalVFs) VFs") }
        if count == sr.numVFs {
            return (.unchanged, sr.vfs.compactMap(sysfs.device))
        }
        try requireWritable(.sriovNumVFs(pfAddress))
        if sr.numVFs != 0 {
            guard force else {
                throw .refused(
                    .vfsInUse,
                    "\(pfAddress) already has \(sr.numVFs) VFs; changing the count to \(count) removes them and they may be in use; pass --force to do it anyway"
                )
            }
            // --force was needed to change a nonzero count at all; a VF in use still stops it.
            try refuseIfOpen(sr.vfs, action: "changing the VF count of \(pfAddress)", forceOverrides: false)
        }
        let want = autoprobe ? "1" : "0"
        if SysfsParse.int(sysfs.text(HostRoot.deviceFile(pfAddress, "sriov_drivers_autoprobe"))).map(String.init)
            != want
        {
            try write(want, .sriovDriversAutoprobe(pfAddress), pf)
        }
        if sr.numVFs != 0 {
            try write("0", .sriovNumVFs(pfAddress), pf)
        }
        if count > 0 {
            let expected = expectedVFs(pf, count: count)
            let waiter = try waiterFactory()  // opened before the write: no event is lost
            try write(String(count), .sriovNumVFs(pfAddress), sysfs.device(pfAddress) ?? pf)
            try waiter.waitForVFs(expected, of: pfAddress, sysfs: sysfs, deadline: .now + timeout)
        }
        let now = sysfs.device(pfAddress)?.sriov?.vfs ?? []
        return (sr.numVFs == 0 ? .enabled : .changed, now.compactMap(sysfs.device))
    }

    /// Disables every VF of `pfAddress`. Refused (exit 4) while a VF is open by a process,
    /// naming the VF and the process, unless `force`. Returns the VFs removed.
    public func disable(_ pfAddress: PCIAddress, force: Bool) throws(VGPUError) -> [PCIAddress] {
        let (pf, sr) = try sriovPF(pfAddress)
        let vfs = sr.vfs
        if sr.numVFs == 0 { return [] }
        try requireWritable(.sriovNumVFs(pfAddress))
        if !force { try refuseIfOpen(vfs, action: "disabling the VFs of \(pfAddress)") }
        try write("0", .sriovNumVFs(pfAddress), pf)
        return vfs
    }

    /// Throws exit 4 naming every VF a process or the kernel uses (`DeviceUsage`: VFIO files,
    /// nodes, mapped BARs, mounts, interfaces), with each user.
    public func refuseIfOpen(_ vfs: [PCIAddress], action: String, forceOverrides: Bool = true) throws(VGPUError) {
        let users = DeviceUsage(sysfs).users(of: vfs)
        for vf in vfs {
            if let e = DeviceUser.refusal(
                vf.description, users[vf] ?? [], doing: action, forceOverrides: forceOverrides)
            {
                throw e
            }
        }
    }

    /// Checks write access to a control file before anything changes (a clear message instead
    /// of a half-done change when not root).
    public func requireWritable(_ file: ControlFile) throws(VGPUError) {
        try Privileges.requireWritable(root: root, file)
    }

    func write(_ value: String, _ file: ControlFile, _ device: PCIDevice) throws(VGPUError) {
        do { try kernel.write(value, to: file) } catch { throw error.explained(device: device) }
    }
}

/// Privilege checks made before any change.
public enum Privileges {
    /// Throws when the control file exists but this process may not write it.
    public static func requireWritable(root: HostRoot, _ file: ControlFile) throws(VGPUError) {
        let path = root.url(file.path)
        guard FileManager.default.fileExists(atPath: path) else { return }  // the write will explain
        if access(path, W_OK) != 0 {
            throw .failed(
                .notPrivileged,
                "\(path) is not writable by this user; changing the host needs root (run vgpuctl as root)")
        }
    }
}

/// Waits until the kernel has created a PF's VFs.
public protocol VFWaiter {
    /// Returns once every address in `vfs` exists in sysfs as a VF of `pf`; throws a clear
    /// error at `deadline`.
    func waitForVFs(_ vfs: [PCIAddress], of pf: PCIAddress, sysfs: SysfsReader, deadline: ContinuousClock.Instant)
        throws(VGPUError)
}

extension VFWaiter {
    static func missing(_ vfs: [PCIAddress], of pf: PCIAddress, sysfs: SysfsReader) -> [PCIAddress] {
        let present = Set(sysfs.device(pf)?.sriov?.vfs ?? [])
        return vfs.filter { !present.contains($0) || !sysfs.exists(HostRoot.device($0)) }
    }
}

/// For a simulated host, whose kernel creates VFs before the write returns: checks sysfs once.
public struct SysfsVFWaiter: VFWaiter {
    public init() {}
    public func waitForVFs(
        _ vfs: [PCIAddress], of pf: PCIAddress, sysfs: SysfsReader, deadline: ContinuousClock.Instant
    ) throws(VGPUError) {
        let missing = Self.missing(vfs, of: pf, sysfs: sysfs)
        if !missing.isEmpty {
            throw .failed(
                .vfsMissing,
                "after writing sriov_numvfs, VFs \(missing.map(\.description).joined(separator: ", ")) of \(pf) do not exist"
            )
        }
    }
}

#if os(Linux)
    /// For a real host: waits for the kernel's `add` uevents of the VFs (the listener is opened
    /// before `sriov_numvfs` is written), then confirms them in sysfs.
    public final class UeventVFWaiter: VFWaiter {
        let listener: UeventListener

        public init() throws(VGPUError) { listener = try UeventListener() }

        public func waitForVFs(
            _ vfs: [PCIAddress], of pf: PCIAddress, sysfs: SysfsReader, deadline: ContinuousClock.Instant
        ) throws(VGPUError) {
            _ = try listener.waitFor(vfs.map(UeventMatch.pciAdd), deadline: deadline)
            let missing = Self.missing(vfs, of: pf, sysfs: sysfs)
            if !missing.isEmpty {
                throw .failed(
                    .vfsMissing,
                    "the kernel announced VFs \(missing.map(\.description).joined(separator: ", ")) of \(pf) but they are not in sysfs"
                )
            }
        }
    }
#endif
