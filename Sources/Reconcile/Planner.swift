import Foundation
import HostKit
import Passthrough
import VGPUTypes

/// Works out, device by device, what it takes to bring the host to a config: the ordered steps
/// (driver binding, VF count, types, hand-off) and which running VMs they would touch.
public struct Planner {
    public let root: HostRoot
    public let sysfs: SysfsReader
    public let backends: BackendProvider

    public init(root: HostRoot, backends: @escaping BackendProvider) {
        self.root = root
        self.sysfs = SysfsReader(root: root)
        self.backends = backends
    }

    /// The plan for one device.
    public struct DevicePlan: Sendable, Encodable {
        public var device: String
        public var rule: String
        public var mode: String
        public var steps: [Action]
        /// Processes (VMs) holding a VFIO file of a device a step touches.
        public var touchesVMs: [VFIOHolder]
        /// VF -> guest, as the config assigns them (for the libvirt hook).
        public var guests: [String: String]
        /// The functions the steps unbind, rebind or remove (whose users are looked for).
        public var disturbs: [PCIAddress] = []
        /// Who uses the device and the functions its steps disturb now (`DeviceUsage`).
        public var inUseBy: [DeviceUser] = []
        /// The users of the disturbed functions only: apply refuses (exit 4) for a certain one
        /// unless --force.
        public var disturbedUsers: [DeviceUser] = []
        /// Why a step cannot be done on this host, by step index (apply refuses, exit 1).
        public var cannot: [Int: String] = [:]

        enum CodingKeys: String, CodingKey { case device, rule, mode, steps, touchesVMs, inUseBy, guests }
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(device, forKey: .device)
            try c.encode(rule, forKey: .rule)
            try c.encode(mode, forKey: .mode)
            try c.encode(
                steps.enumerated().map { i, s in
                    StepJSON(phase: s.phase, action: s.description, device: s.device.description, cannot: cannot[i])
                }, forKey: .steps)
            try c.encode(touchesVMs, forKey: .touchesVMs)
            try c.encode(inUseBy, forKey: .inUseBy)
            try c.encode(guests, forKey: .guests)
        }
        struct StepJSON: Encodable {
            var phase: String
            var action: String
            var device: String
            var cannot: String?
        }
    }

    /// The whole plan.
    public struct Plan: Sendable, Encodable {
        public var config: String
        public var file: String
        public var devices: [DevicePlan]
        /// Rules that matched no device on this host (`file:line:column: selector`): allowed
        /// for filters that describe a kind of device (`all`, a device id, `device-filter`).
        public var unmatchedRules: [String] = []
        public var steps: [Action] { devices.flatMap(\.steps) }
        public var touchesVMs: [VFIOHolder] { devices.flatMap(\.touchesVMs) }
        public var converged: Bool { steps.isEmpty }
        /// VF -> guest for every VF the config assigns to a named guest.
        public var guests: [String: String] { devices.reduce(into: [:]) { $0.merge($1.guests) { a, _ in a } } }
        /// The first step this host cannot do, with its reason.
        public var firstImpossible: (device: String, step: Action, reason: String)? {
            for d in devices {
                for (i, s) in d.steps.enumerated() { if let r = d.cannot[i] { return (d.device, s, r) } }
            }
            return nil
        }
    }

    /// Which device each rule selects (first rule wins), in address order.
    public func resolve(_ config: HostConfig) throws(ReconcileError) -> [(PCIDevice, HostConfig.Rule)] {
        try resolve(config, all: sysfs.allDevices()).selected
    }

    /// `resolve` over devices already read (the plan reads sysfs once and observes from it), with
    /// the rules that matched nothing. A selector that names one device (an address, a serial,
    /// a `devices:` index) must find it: otherwise the config is wrong for this host (exit 2,
    /// at the value's line).
    /// `vfs`: the VFs when `all` holds only the functions that are not VFs (``PCIFunctions``).
    func resolve(_ config: HostConfig, all: [PCIDevice], vfs: Set<PCIAddress> = []) throws(ReconcileError) -> (
        selected: [(PCIDevice, HostConfig.Rule)], unmatched: [String]
    ) {
        let gpus = all.filter { $0.isNVIDIAGPU && $0.physfn == nil }
        var chosen: [PCIAddress: (PCIDevice, HostConfig.Rule)] = [:]
        var unmatched: [String] = []
        for rule in config.rules {
            var hits: [PCIDevice]
            switch rule.selector {
            case .address(let a):
                let found = all.first(where: { $0.address == a })
                if found == nil, vfs.contains(a) {
                    throw .invalid(
                        .selection, "\(rule.at("select")): \(a) is a VF; a rule selects a whole device (a GPU or a PF)")
                }
                guard let d = found else {
                    throw .invalid(
                        .selection,
                        "\(rule.at("select")): selects \(a), which is not on this host (\(root.path)); see 'vgpuctl list --all'"
                    )
                }
                if d.physfn != nil {
                    throw .invalid(
                        .selection, "\(rule.at("select")): \(a) is a VF; a rule selects a whole device (a GPU or a PF)")
                }
                hits = [d]
            case .deviceID(let v, let dev):
                hits = all.filter { $0.vendorID == v && $0.deviceID == dev && $0.physfn == nil }
            case .serial(let s):
                hits = all.filter { $0.physfn == nil && sysfs.configSpace($0.address)?.deviceSerialNumber == s }
                if hits.isEmpty {
                    throw .invalid(
                        .selection,
                        "\(rule.at("select")): no device has serial number \(hex(s, 16)) (read from the config-space DSN capability; run as root on a real host)"
                    )
                }
            case .all:
                hits = gpus
            case .indices(let idx, let filter):
                let pool = gpus.filter { g in
                    filter.isEmpty || filter.contains { $0.vendor == g.vendorID && $0.device == g.deviceID }
                }
                for (k, i) in idx.enumerated() where i >= pool.count {
                    let kind = filter.isEmpty ? "NVIDIA GPUs" : "GPUs that match its device-filter"
                    throw .invalid(
                        .selection,
                        "\(rule.at("index:\(k)")): GPU index \(i) is not on this host: it has \(pool.count) \(kind)\(pool.isEmpty ? "" : " (indices 0-\(pool.count - 1))"); see 'vgpuctl list'"
                    )
                }
                hits = pool.enumerated().filter { idx.isEmpty || idx.contains($0.offset) }.map(\.element)
            }
            if hits.isEmpty { unmatched.append("\(rule.at("select")): \(rule.selector)") }
            for d in hits where chosen[d.address] == nil { chosen[d.address] = (d, rule) }
        }
        return (chosen.keys.sorted().compactMap { chosen[$0] }, unmatched)
    }

    /// The processes holding each of `addresses` through VFIO, from one pass over `proc`.
    /// `devices`: the functions as just read (by address), so each is not read again.
    /// Nothing is read per device when no process holds a VFIO file (a host with no VM running).
    func vfioHolders(
        of addresses: [PCIAddress], devices: [PCIAddress: PCIDevice] = [:], vfs: [PCIAddress: PCIFunctions.VF] = [:]
    ) -> [PCIAddress: [VFIOHolder]] {
        let held = sysfs.vfioHolders()
        guard !held.isEmpty else { return [:] }
        let files = Dictionary(
            addresses.map { a in
                (a, devices[a].map(sysfs.vfioFiles) ?? vfs[a].map(sysfs.vfioFiles) ?? sysfs.vfioFiles(a))
            },
            uniquingKeysWith: { a, _ in a })
        let all = Set(files.values.joined())
        let holders = held.filter { all.contains($0.file) }
        guard !holders.isEmpty else { return [:] }
        return files.mapValues { mine in holders.filter { mine.contains($0.file) } }
    }

    func observe(
        _ d: PCIDevice, devices: [PCIAddress: PCIDevice], vfs vfTable: [PCIAddress: PCIFunctions.VF] = [:],
        state: PassthroughState, guests: [String: String],
        holders: [PCIAddress: [VFIOHolder]]
    ) throws(ReconcileError) -> ObservedGPU {
        let backend = d.sriov != nil ? try ReconcileError.wrapping(.backend, { try backends(d) }) : nil
        var types: [PCIAddress: String] = [:]
        if let backend, (d.sriov?.numVFs ?? 0) > 0 {
            for (vf, t) in try ReconcileError.wrapping(.backend, { try backend.assignedTypes(pf: d.address) }) {
                if let t { types[vf] = t }
            }
        }
        let vfs = (d.sriov?.vfs ?? []).map { vf in
            ObservedGPU.ObservedVF(
                address: vf, type: types[vf], driver: vfTable[vf]?.driver ?? devices[vf]?.driver,
                record: state.devices[vf.description], holders: holders[vf] ?? [],
                guest: guests[vf.description])
        }
        return ObservedGPU(
            device: d, vfs: vfs, passthroughRecord: state.devices[d.address.description],
            holders: holders[d.address] ?? [], backend: backend)
    }

    /// Plans `config` against the host as it is now. Changes nothing.
    /// `usersOfEveryDevice`: fill `inUseBy` for every selected device (what `plan` and `assert`
    /// show); without it only the functions the steps disturb are looked up (what `apply`
    /// checks), so a converged apply scans no process.
    public func plan(_ config: HostConfig, usersOfEveryDevice: Bool = true) throws(ReconcileError) -> Plan {
        let state = try ReconcileError.wrapping(.passthroughState) { try PassthroughState.load(root) }
        let guests = try GuestAssignments.load(root).vfs
        var out: [DevicePlan] = []
        let all = sysfs.functions()
        let byAddress = Dictionary(all.devices.map { ($0.address, $0) }, uniquingKeysWith: { a, _ in a })
        let resolved = try resolve(config, all: all.devices, vfs: Set(all.vfs.keys))
        let holders = vfioHolders(
            of: resolved.selected.flatMap { d, _ in [d.address] + (d.sriov?.vfs ?? []) }, devices: byAddress,
            vfs: all.vfs)
        for (d, rule) in resolved.selected {
            let o = try observe(d, devices: byAddress, vfs: all.vfs, state: state, guests: guests, holders: holders)
            var dp = try planDevice(o, rule: rule)
            dp.disturbs = disturbed(dp.steps) { _ in o.vfs.map(\.address) }
            dp.cannot = Feasibility(sysfs: sysfs).check(dp.steps, pf: d)
            out.append(dp)
        }
        // One pass over proc for every function the plan disturbs.
        let asked = Set(out.flatMap(\.disturbs) + (usersOfEveryDevice ? out.compactMap { PCIAddress($0.device) } : []))
        let users = asked.isEmpty ? [:] : DeviceUsage(sysfs).users(of: asked.sorted())
        for i in out.indices {
            func collect(_ list: [PCIAddress]) -> [DeviceUser] {
                var seen = Set<DeviceUser>()
                return list.flatMap { users[$0] ?? [] }.filter { seen.insert($0).inserted }
            }
            out[i].disturbedUsers = collect(out[i].disturbs)
            out[i].inUseBy = collect((PCIAddress(out[i].device).map { [$0] } ?? []) + out[i].disturbs)
        }
        return Plan(config: config.name, file: config.file, devices: out, unmatchedRules: resolved.unmatched)
    }

    func planDevice(_ o: ObservedGPU, rule: HostConfig.Rule) throws(ReconcileError) -> DevicePlan {
        let d = o.device
        let a = d.address
        var steps: [Action] = []
        var touched: [VFIOHolder] = []
        var guests: [String: String] = [:]
        let vfioTarget = PCIIDs.vfioDriver(vendor: d.vendorID, device: d.deviceID).rawValue
        let onVFIO = d.driver.map(PassthroughManager.vfioDrivers.contains) ?? false

        /// Steps that remove every VF (types first, VF passthrough records, then the count).
        func removeVFs() {
            guard let sr = d.sriov, sr.numVFs > 0 else { return }
            for vf in o.vfs {
                touched += vf.holders
                if let t = vf.type { steps.append(.clearType(vf: vf.address, type: t)) }
                if vf.record != nil { steps.append(.releasePassthrough(vf.address)) }
            }
            steps.append(.disableVFs(pf: a, count: sr.numVFs))
        }

        let modeName: String
        switch rule.mode {
        case .passthrough:
            modeName = "passthrough"
            removeVFs()
            if d.driver != vfioTarget { steps.append(.assignPassthrough(a)) }
        case .host:
            modeName = "host"
            if o.passthroughRecord != nil {
                steps.append(.releasePassthrough(a))
                touched += o.holders
            } else if onVFIO || d.driver == nil {
                steps.append(.bindHostDriver(a))
                touched += o.holders
            }
            removeVFs()
        case .vgpu(let spec):
            modeName = "vgpu"
            guard let sr = d.sriov else {
                throw .invalid(
                    .unsupported,
                    "\(rule.at("mode")): \(a) (\(d.id)) has no SR-IOV capability, so 'mode: vgpu' cannot apply to it; use passthrough or host"
                )
            }
            let want = spec.vfCount
            if want > sr.totalVFs {
                throw .invalid(
                    .unsupported,
                    "\(spec.vfs == nil ? rule.at("types") : rule.at("vfs")): \(a) supports at most \(sr.totalVFs) VFs; the rule asks for \(want)"
                )
            }
            if !spec.types.isEmpty && o.backend == nil {
                throw .invalid(
                    .unsupported,
                    "\(rule.at("types")): \(a) offers no vGPU interface (no fwctl device, no NVIDIA vendor sysfs, no mdev types), so it cannot take the types \(spec.types.map(\.type).joined(separator: ", "))"
                )
            }
            if let backend = o.backend, !spec.types.isEmpty {
                let known = Set(try ReconcileError.wrapping(.backend, { try backend.typeNames(pf: a) }))
                for t in spec.types where !known.contains(t.type) {
                    throw .invalid(
                        .unsupported,
                        "\(rule.at("type:\(t.type)")): \(a) (\(d.id)) has no vGPU type '\(t.type)'; 'vgpuctl profile list \(a)' shows the types it supports"
                    )
                }
            }
            if o.passthroughRecord != nil {
                steps.append(.releasePassthrough(a))
                touched += o.holders
            } else if onVFIO {
                steps.append(.bindHostDriver(a))
                touched += o.holders
            }
            let autoprobe = o.backend.map { $0.kind == .vendorSysfs || $0.kind == .mdev } ?? false
            var vfs = o.vfs
            if sr.numVFs != want {
                removeVFs()
                if want > 0 { steps.append(.enableVFs(pf: a, count: want, autoprobe: autoprobe)) }
                vfs = VFController(root: root, kernel: SysfsKernel(root: root), waiterFactory: { SysfsVFWaiter() })
                    .expectedVFs(d, count: want)
                    .map { .init(address: $0, type: nil, driver: nil, record: nil, holders: [], guest: nil) }
            }
            // Types: keep every VF whose type is still wanted (matching guests first), clear
            // the rest, then give the missing ones to untyped VFs in index order.
            var remaining = spec.types.flatMap { r in Array(repeating: r, count: r.count) }
            var keep: [PCIAddress: HostConfig.TypeRequest] = [:]
            for pass in 0..<2 {
                for vf in vfs where keep[vf.address] == nil {
                    guard let t = vf.type else { continue }
                    let idx = remaining.firstIndex { $0.type == t && (pass == 1 || $0.guest == vf.guest) }
                    if let idx { keep[vf.address] = remaining.remove(at: idx) }
                }
            }
            var untyped: [PCIAddress] = []
            for vf in vfs {
                if let t = vf.type, keep[vf.address] == nil {
                    steps.append(.clearType(vf: vf.address, type: t))
                    touched += vf.holders
                    untyped.append(vf.address)
                } else if vf.type == nil {
                    untyped.append(vf.address)
                }
            }
            for (vf, r) in keep { if let g = r.guest { guests[vf.description] = g } }
            let clearing = vfs.enumerated().filter { $0.element.type != nil && keep[$0.element.address] == nil }.map(
                \.offset)
            var adding: [(vf: Int, type: String)] = []
            for r in remaining {
                guard !untyped.isEmpty else { break }
                let vf = untyped.removeFirst()
                steps.append(.assignType(vf: vf, type: r.type, guest: r.guest))
                if let g = r.guest { guests[vf.description] = g }
                if let i = vfs.firstIndex(where: { $0.address == vf }) { adding.append((i, r.type)) }
            }
            // Untyped VFs for named guests: a VF the guest had keeps it, the rest in index order.
            var free = untyped
            for g in spec.guestVFs {
                for _ in 0..<g.count {
                    let had = free.firstIndex { a in vfs.first { $0.address == a }?.guest == g.guest }
                    guard let i = had ?? (free.isEmpty ? nil : 0) else { break }
                    guests[free.remove(at: i).description] = g.guest
                }
            }
            // The whole plan must fit the GPU before anything changes (a mix that does not fit
            // is refused here, not half-way through the apply).
            if let backend = o.backend, !adding.isEmpty {
                do {
                    try backend.checkPlan(
                        pf: a, vfCount: want, fresh: sr.numVFs != want, clearing: clearing, adding: adding)
                } catch {
                    throw .invalid(.unsupported, "\(rule.at("types")): \(ErrorChain.message(error))", underlying: error)
                }
            }
            // Hand-off: untyped VFs to vfio-pci (generic SR-IOV), when asked; with the upstream
            // backend every VF (its type lives in the firmware, not in a host driver).
            if spec.vfioHandoff {
                if o.backend?.kind == .vendorSysfs && !untyped.isEmpty {
                    throw .invalid(
                        .unsupported,
                        "\(rule.location): 'vfioHandoff: true' would bind \(untyped.count) untyped VF\(untyped.count == 1 ? "" : "s") of \(a) to vfio-pci, which NVIDIA's vendor VFIO does not allow (its VFs stay bound to nvidia); give every VF a type, or drop vfioHandoff"
                    )
                }
                let handed = o.backend?.kind == .upstream ? vfs.map(\.address) : untyped
                for vf in handed {
                    let cur = vfs.first { $0.address == vf }
                    if cur?.driver != "vfio-pci" { steps.append(.assignPassthrough(vf)) }
                }
            }
        }
        var seen = Set<VFIOHolder.Key>()
        let uniqueTouched = touched.filter { seen.insert($0.key).inserted }
        return DevicePlan(
            device: a.description, rule: rule.location, mode: modeName, steps: steps, touchesVMs: uniqueTouched,
            guests: guests)
    }

}

extension Planner {
    /// The functions `steps` take a driver from or remove: what a user of would lose.
    /// `vfs(pf)`: the VFs a `disableVFs` step of `pf` removes.
    func disturbed(_ steps: [Action], vfs: (PCIAddress) -> [PCIAddress]) -> [PCIAddress] {
        var out: [PCIAddress] = []
        for s in steps {
            switch s {
            case .releasePassthrough(let a), .bindHostDriver(let a), .clearType(let a, _): out.append(a)
            case .assignPassthrough(let a):
                // The function and the companions its assignment binds too.
                let m = PassthroughManager(root: root, kernel: SysfsKernel(root: root))
                out += (try? m.plan(a, includeGroup: false).steps.map(\.address)) ?? [a]
            case .disableVFs(let pf, _): out += vfs(pf)
            case .enableVFs, .assignType: break
            }
        }
        var seen = Set<PCIAddress>()
        return out.filter { seen.insert($0).inserted }
    }
}

extension VFIOHolder {
    struct Key: Hashable {
        var pid: Int
        var file: String
    }
    var key: Key { Key(pid: pid, file: file) }
}
