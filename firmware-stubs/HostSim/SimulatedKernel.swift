import Foundation
import GPUModels
import HostKit
import SimGPU
import SystemPackage

/// The simulated kernel: applies Linux's semantics for the control files vgpuctl writes to a
/// simulated host tree, with the errnos Linux returns.
///
/// Sources: `drivers/pci/iov.c` (`sriov_numvfs_store`: parse error EINVAL; N > TotalVFs ERANGE;
/// same N is a no-op; no PF driver or no `sriov_configure` ENOENT; a different nonzero N while
/// VFs exist EBUSY), `drivers/pci/pci-sysfs.c` and `drivers/base/bus.c` (`driver_override`,
/// `bind`, `unbind`, `drivers_probe`: an unknown device or a driver that does not match gives
/// ENODEV, binding a bound device EBUSY), `drivers/pci/pci-driver.c` (`pci_match_device`:
/// `driver_override` restricts matching to the named driver and lets it bind without an id
/// table; override-only ids match only through it). Checked against a real kernel by the
/// real-kernel scenario suite.
public struct SimulatedKernel: Kernel {
    public let root: HostRoot
    /// Tests: ends the process with SIGKILL at a chosen effect of a write.
    public let effectHook: SimEffectHook?

    /// Which real kernel behaviour the simulator models (`vgpuctl sim create` says it).
    /// The generic SR-IOV/VFIO answers were checked against Debian's 6.1, 6.12 and 7.2 kernels
    /// (Tests/RealKernel/OBSERVED.md), which agree on them. One thing those kernels lack is
    /// modelled anyway so the iommufd hand-off can be exercised: the VFIO device cdev.
    public static let modelledKernel =
        "Linux 6.1-7.2 generic SR-IOV/VFIO as observed on Debian's 6.1, 6.12 and 7.2 kernels, plus the VFIO device cdev (vfio-dev/vfioN/dev, /dev/vfio/devices/vfioN; CONFIG_VFIO_DEVICE_CDEV, which Debian leaves off); no /dev/iommu unless one is created"

    /// The major of the simulated VFIO device cdevs (dynamic on a real kernel).
    static let vfioCdevMajor = 237

    public init(root: HostRoot, effectHook: SimEffectHook? = nil) {
        self.root = root
        self.effectHook = effectHook
    }

    var fs: SimFS { SimFS(root: root) }
    var sysfs: SysfsReader { SysfsReader(root: root) }

    /// Applies a write as the kernel does: whole or not at all, whatever happens to the writer.
    ///
    /// The write is decided first (reads only; a refusal changes nothing), its effects are
    /// recorded in `.vgpuctl-sim-pending.json` (one rename), carried out, and the record
    /// removed, all under `.vgpuctl-sim.lock`. A writer that dies in between leaves the record;
    /// the next access (``settle()``, every write, every vgpuctl command on the root) carries the
    /// effects out again: each one is idempotent, so the write completes as a real kernel's would.
    public func write(_ value: String, to file: ControlFile) throws(KernelError) {
        // Whatever the outcome, tell watchers (the device plugin) that the simulated kernel was
        // written to: on a real host the kernel's uevents do this.
        defer { HostChanges.notify(root, reason: "simulated kernel: \(file.path)") }
        func fail(_ e: Errno) -> KernelError { KernelError(errno: e, path: file.path, value: value) }
        let lock: SimKernelLock
        do { lock = try SimKernelLock(root: root) } catch { throw fail(.ioError) }
        defer { lock.release() }
        do { try settleLocked() } catch { throw fail(.ioError) }
        // Opening a control file that does not exist fails as open(2) would.
        guard sysfs.exists(file.path) else { throw fail(.noSuchFileOrDirectory) }
        let state: SimState
        do { state = try SimState.load(root) } catch { throw fail(.ioError) }
        let v = value.hasSuffix("\n") ? String(value.dropLast()) : value
        let effects: [SimEffect]
        do {
            effects = try decide(file, v, state: state)
        } catch let e as Errno {
            throw fail(e)
        } catch {
            throw fail(.ioError)
        }
        guard !effects.isEmpty else { return }
        do {
            try SimPendingWrite(file: file.path, value: v, effects: effects).save(fs)
            try run(effects, state: state)
            try SimPendingWrite.remove(fs)
        } catch {
            // The record stays: the next access carries the rest of the write out, as the
            // kernel would have finished it.
            throw fail(.ioError)
        }
    }

    /// What a write does, decided from the tree as it is (reads only).
    func decide(_ file: ControlFile, _ v: String, state: SimState) throws -> [SimEffect] {
        switch file {
        case .sriovNumVFs(let pf):
            return try decideNumVFs(pf, v, state: state)
        case .sriovDriversAutoprobe:
            guard let b = Self.kstrtobool(v) else { throw Errno.invalidArgument }
            return [.writeFile(path: file.path, text: b ? "1\n" : "0\n")]
        case .driverOverride:
            guard v.utf8.count < 4095 else { throw Errno.invalidArgument }
            return [.writeFile(path: file.path, text: v.isEmpty ? "(null)\n" : v + "\n")]
        case .unbind(let drv):
            guard let a = Self.deviceName(v), let dev = sysfs.device(a), let dir = dev.canonicalPath else {
                throw Errno.noSuchDevice
            }
            guard dev.driver == drv else { throw Errno.noSuchDevice }
            // The siblings' creatable lists grow when a vGPU goes with its VF's driver.
            let render: [SimEffect] = drv == "nvidia" ? (dev.physfn.map { [.renderVGPU($0)] } ?? []) : []
            return [.detach(a, driver: drv, dir: dir, group: dev.iommuGroup)] + render
        case .bind(let drv):
            guard let a = Self.deviceName(v), let dev = sysfs.device(a), let spec = state.driver(drv) else {
                throw Errno.noSuchDevice
            }
            guard Self.matches(spec, dev) else { throw Errno.noSuchDevice }
            guard dev.driver == nil else { throw Errno.resourceBusy }
            guard canProbe(dev) else { throw Errno.noSuchDevice }
            if refusesVFIO(dev, driver: drv, state: state) { throw Errno.invalidArgument }
            return [.attach(a, driver: drv)]
        case .driversProbe:
            guard let a = Self.deviceName(v), let dev = sysfs.device(a) else { throw Errno.noSuchDevice }
            return probeTarget(dev, state: state).map { [.attach(a, driver: $0)] } ?? []
        case .currentVGPUType, .mdevCreate, .mdevRemove:
            // NVIDIA's vGPU driver, simulated (SimulatedKernel+VGPU.swift).
            return try decideVGPU(file, v, state: state)
        }
    }

    /// The device named by a write to `bind`/`unbind`/`drivers_probe`: the kernel compares the
    /// whole name (`bus_find_device_by_name`), so `00:03.1` without the domain names nothing.
    static func deviceName(_ v: String) -> PCIAddress? {
        guard let a = PCIAddress(v), a.description == v else { return nil }
        return a
    }

    /// `pci_device_can_probe`: a VF is probed only while its PF's `sriov_drivers_autoprobe` is
    /// 1, or when it has a `driver_override` (checked at every probe, also of existing VFs).
    func canProbe(_ dev: PCIDevice) -> Bool {
        guard let pf = dev.physfn, dev.driverOverride == nil else { return true }
        return SysfsParse.int(sysfs.text(HostRoot.deviceFile(pf, "sriov_drivers_autoprobe"))) != 0
    }

    /// `kstrtobool`: decided by the first character (`1 y Y t T` true, `0 n N f F` false), or
    /// `on`/`off`; anything else (including an empty write) is EINVAL. Seen on 6.1: 0/1/y/n/on/off
    /// accepted, others EINVAL.
    static func kstrtobool(_ s: String) -> Bool? {
        guard let c = s.first else { return nil }
        switch c {
        case "1", "y", "Y", "t", "T": return true
        case "0", "n", "N", "f", "F": return false
        case "o", "O":
            let l = s.lowercased()
            if l.hasPrefix("on") { return true }
            if l.hasPrefix("of") { return false }
            return nil
        default: return nil
        }
    }

    /// `kstrtou16(buf, 0, ...)`: decimal, `0x` hex or leading-0 octal.
    static func kstrtou16(_ s: String) -> UInt16? {
        if s.hasPrefix("0x") || s.hasPrefix("0X") { return UInt16(s.dropFirst(2), radix: 16) }
        if s.hasPrefix("0") && s.count > 1 { return UInt16(s.dropFirst(), radix: 8) }
        if s.hasPrefix("+") { return UInt16(s.dropFirst()) }
        return UInt16(s)
    }

    /// `pci_match_device`: driver_override first, then the id table (override-only ids need the
    /// override).
    static func matches(_ drv: DriverSpec, _ dev: PCIDevice) -> Bool {
        if let o = dev.driverOverride { if o != drv.name { return false } else { return true } }
        return (drv.match ?? []).contains {
            $0.matches(vendor: dev.vendorID, device: dev.deviceID, classCode: dev.classCode)
        }
    }

    // MARK: Binding (each idempotent: carried out again after a dying writer, it completes)

    /// Binds `a` to `driver` (the effect of a successful probe).
    func attach(_ a: PCIAddress, driver: String, state: SimState) throws {
        guard let dev = sysfs.device(a), let dir = dev.canonicalPath else { throw Errno.noSuchDevice }
        try fs.link("\(dir)/driver", to: HostRoot.driver(driver))
        try fs.link("\(HostRoot.driver(driver))/\(a)", to: dir)
        try fs.write(
            "\(dir)/uevent",
            (fs.read("\(dir)/uevent") ?? "").replacingOccurrences(of: "DRIVER=\n", with: "DRIVER=\(driver)\n"))
        if state.driver(driver)?.vfio == true, let g = dev.iommuGroup {
            // The VFIO group char device appears with the first VFIO-bound device of the group;
            // the cdev model adds vfio-dev/vfioN to the device.
            try ensureVFIODevice(dir: dir, group: g)
        }
        try vgpuAttached(a, driver: driver, state: state)
    }

    /// `/dev/vfio/<group>` and the device's `vfio-dev/vfioN` with `/dev/vfio/devices/vfioN`,
    /// made once (a second call finds them).
    func ensureVFIODevice(dir: String, group g: Int) throws {
        if !fs.exists("\(HostRoot.vfioDev)/\(g)") { try fs.write("\(HostRoot.vfioDev)/\(g)", "") }
        if let name = fs.list("\(dir)/vfio-dev").first {
            if let n = Int(name.dropFirst("vfio".count)), !fs.exists("\(dir)/vfio-dev/\(name)/dev") {
                try fs.write("\(dir)/vfio-dev/\(name)/dev", "\(Self.vfioCdevMajor):\(n)\n")
            }
            if !fs.exists("dev/vfio/devices/\(name)") { try fs.write("dev/vfio/devices/\(name)", "") }
            return
        }
        let n = nextVFIODeviceNumber()
        try fs.mkdir("\(dir)/vfio-dev/vfio\(n)")
        try fs.write("\(dir)/vfio-dev/vfio\(n)/dev", "\(Self.vfioCdevMajor):\(n)\n")
        try fs.write("dev/vfio/devices/vfio\(n)", "")
    }

    /// Unbinds `a` from `driver`; `dir` and `group` were read when the write was decided, so a
    /// second run after a half-done one completes it.
    func detach(_ a: PCIAddress, driver: String, dir: String, group: Int?, state: SimState) throws {
        guard fs.exists(dir) else { return }
        try vgpuDetaching(a, driver: driver, dir: dir, group: group, state: state)
        try fs.remove("\(dir)/driver")
        try fs.remove("\(HostRoot.driver(driver))/\(a)")
        try fs.write(
            "\(dir)/uevent",
            (fs.read("\(dir)/uevent") ?? "").replacingOccurrences(of: "DRIVER=\(driver)\n", with: "DRIVER=\n"))
        if state.driver(driver)?.vfio == true {
            for n in fs.list("\(dir)/vfio-dev") { try fs.remove("dev/vfio/devices/\(n)") }
            try fs.remove("\(dir)/vfio-dev")
            if let g = group {
                let stillVFIO = sysfs.iommuGroupMembers(g).contains { m in
                    m != a && (sysfs.device(m)?.driver).flatMap { state.driver($0)?.vfio } == true
                }
                if !stillVFIO { try fs.remove("\(HostRoot.vfioDev)/\(g)") }
            }
        }
    }

    func nextVFIODeviceNumber() -> Int {
        let used = Set(fs.list("dev/vfio/devices").compactMap { Int($0.dropFirst(4)) })
        var n = 0
        while used.contains(n) { n += 1 }
        return n
    }

    /// `drivers_probe` / autoprobe: the first matching loaded driver of an unbound device.
    func probeTarget(_ dev: PCIDevice, state: SimState) -> String? {
        guard dev.driver == nil, canProbe(dev) else { return nil }
        let loaded = Set(sysfs.pciDrivers())
        if let o = dev.driverOverride {
            if loaded.contains(o), let d = state.driver(o), Self.matches(d, dev),
                !refusesVFIO(dev, driver: o, state: state)
            {
                return o
            }
            return nil
        }
        return state.drivers.first { loaded.contains($0.name) && Self.matches($0, dev) }?.name
    }

    // MARK: SR-IOV

    func decideNumVFs(_ pf: PCIAddress, _ value: String, state: SimState) throws -> [SimEffect] {
        guard let n = Self.kstrtou16(value) else { throw Errno.invalidArgument }
        guard let dev = sysfs.device(pf), let sr = dev.sriov, let dir = dev.canonicalPath,
            let hw = state.pfs[pf.description], let cap = hw.spec.sriov
        else { throw Errno.noSuchFileOrDirectory }
        if Int(n) > sr.totalVFs { throw Errno.outOfRange }
        if Int(n) == sr.numVFs { return [] }
        guard let drv = dev.driver else { throw Errno.noSuchFileOrDirectory }
        guard state.driver(drv)?.sriovConfigure == true else { throw Errno.noSuchFileOrDirectory }
        var out: [SimEffect] = []
        if n == 0 {
            for vf in sr.vfs.reversed() {
                guard let d = sysfs.device(vf), let vdir = d.canonicalPath else { continue }
                out.append(.removeVF(vf, dir: vdir, driver: d.driver, group: d.iommuGroup))
            }
            for name in fs.list(dir) where name.hasPrefix("virtfn") { out.append(.removeFile(path: "\(dir)/\(name)")) }
        } else {
            if sr.numVFs != 0 { throw Errno.resourceBusy }
            let autoprobe = sr.driversAutoprobe ?? true
            let groups = freeGroups(Int(n), from: state.firstDynamicGroup)
            var probes: [SimEffect] = []
            let loaded = Set(sysfs.pciDrivers())
            let vendor = UInt16(truncatingIfNeeded: hw.spec.vendorID.value)
            let device = UInt16(truncatingIfNeeded: cap.vfDeviceID.value)
            let cls = UInt32(truncatingIfNeeded: (cap.vfClassCode ?? hw.spec.classCode).value)
            // A new VF has no driver_override: autoprobe binds the first loaded driver whose id
            // table matches it (`pci_device_can_probe`, `pci_match_device`).
            let target =
                autoprobe
                ? state.drivers.first { d in
                    loaded.contains(d.name)
                        && (d.match ?? []).contains { $0.matches(vendor: vendor, device: device, classCode: cls) }
                }?.name : nil
            for i in 0..<Int(n) {
                let rid = Int(pf.routingID) + Int(cap.vfOffset) + i * Int(cap.vfStride)
                guard rid <= 0xFFFF else { throw Errno.outOfRange }
                let vf = PCIAddress(domain: pf.domain, routingID: UInt16(rid))
                out.append(.createVF(vf, index: i, pf: pf, group: groups[i]))
                if let target { probes.append(.attach(vf, driver: target)) }
            }
            out += probes
        }
        out.append(.writeFile(path: "\(dir)/sriov_numvfs", text: "\(n)\n"))
        out.append(.pfConfig(pf, numVFs: Int(n)))
        return out
    }

    func setPFConfig(_ pf: PCIAddress, numVFs: UInt16) throws {
        guard let dir = sysfs.device(pf)?.canonicalPath else { throw Errno.noSuchDevice }
        try rewritePFConfig(pf, dir: dir, numVFs: numVFs)
    }

    func rewritePFConfig(_ pf: PCIAddress, dir: String, numVFs: UInt16) throws {
        guard let old = sysfs.bytes("\(dir)/config"), let sr = ConfigSpace(old).sriov else { return }
        var bytes = old
        let ctrl =
            UInt16(old[sr.offset + SRIOVCapability.ctrl]) | UInt16(old[sr.offset + SRIOVCapability.ctrl + 1]) << 8
        let newCtrl = numVFs > 0 ? ctrl | 0x0009 : ctrl & ~0x0009  // VF Enable | VF MSE
        bytes[sr.offset + SRIOVCapability.ctrl] = UInt8(newCtrl & 0xff)
        bytes[sr.offset + SRIOVCapability.ctrl + 1] = UInt8(newCtrl >> 8)
        bytes[sr.offset + SRIOVCapability.numVF] = UInt8(numVFs & 0xff)
        bytes[sr.offset + SRIOVCapability.numVF + 1] = UInt8(numVFs >> 8)
        try fs.write("\(dir)/config", Data(bytes))
    }

    func lowestFreeGroup(from first: Int) -> Int { freeGroups(1, from: first)[0] }

    /// The `count` lowest free IOMMU group ids from `first` up (the kernel's ida).
    func freeGroups(_ count: Int, from first: Int) -> [Int] {
        let used = Set(fs.list(HostRoot.iommuGroups).compactMap(Int.init))
        var out: [Int] = []
        var g = first
        while out.count < count {
            if !used.contains(g) { out.append(g) }
            g += 1
        }
        return out
    }

    func createVF(_ vf: PCIAddress, index: Int, pf: PCIAddress, group: Int, state: SimState) throws {
        guard let pfDir = sysfs.device(pf)?.canonicalPath, let hw = state.pfs[pf.description] else {
            throw Errno.noSuchDevice
        }
        let spec = hw.spec
        guard let cap = spec.sriov else { return }
        let parentDir = (pfDir as NSString).deletingLastPathComponent
        let dir = "\(parentDir)/\(vf)"
        var rs = Array(repeating: SysfsParse.Resource(start: 0, end: 0, flags: 0), count: 13)
        var vfSpec = DeviceSpec()
        vfSpec.vendorID = spec.vendorID
        vfSpec.deviceID = cap.vfDeviceID
        vfSpec.classCode = cap.vfClassCode ?? spec.classCode
        vfSpec.revision = spec.revision
        vfSpec.subsystemVendorID = spec.subsystemVendorID
        vfSpec.subsystemDeviceID = spec.subsystemDeviceID
        for bar in cap.vfBars ?? [] {
            guard let base = hw.vfBarAddresses[bar.index], bar.index < 6 else { continue }
            let start = base + UInt64(index) * bar.size.value
            rs[bar.index] = .init(
                start: start, end: start + bar.size.value - 1, flags: SimDeviceWriter.resourceFlags(bar))
        }
        let config = ConfigSpaceBuilder.build(.init(spec: vfSpec, isVF: true))
        try SimDeviceWriter(fs: fs).write(
            .init(
                address: vf, dir: dir,
                vendorID: UInt16(truncatingIfNeeded: spec.vendorID.value),
                deviceID: UInt16(truncatingIfNeeded: cap.vfDeviceID.value),
                classCode: UInt32(truncatingIfNeeded: vfSpec.classCode.value),
                subsystemVendorID: UInt16(truncatingIfNeeded: spec.subsystemVendorID?.value ?? 0),
                subsystemDeviceID: UInt16(truncatingIfNeeded: spec.subsystemDeviceID?.value ?? 0),
                revision: UInt8(truncatingIfNeeded: spec.revision?.value ?? 0),
                numaNode: hw.numaNode, iommuGroup: group, config: config, resources: rs))
        try fs.link("\(dir)/physfn", to: pfDir)
        try fs.link("\(pfDir)/virtfn\(index)", to: dir)
    }

    func removeVF(_ vf: PCIAddress, dir: String, driver: String?, group: Int?, state: SimState) throws {
        if let driver { try detach(vf, driver: driver, dir: dir, group: group, state: state) }
        try SimDeviceWriter(fs: fs).remove(vf, dir: dir, group: group)
    }
}
