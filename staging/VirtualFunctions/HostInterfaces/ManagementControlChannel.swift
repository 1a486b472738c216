import ControlChannel
import HostKit
import VGPUTypes

/// The upstream backend's ``VGPUControlChannel`` over stage 2's control channel: each command
/// goes out as a nova-core fwctl request (``VGPUManagementClient``), by `FWCTL_RPC` on a real
/// host or over the GSP queues to gsp-stub on a simulated one. VFs are named to the firmware
/// by their PCI address (the GMC API's `dbdf`), found from the PF's `virtfnN` links.
///
/// The channel opens on first use (so building a backend never starts anything) and is
/// released by ``close()``.
public final class ManagementControlChannel: VGPUControlChannel {
    public let root: HostRoot
    public let pf: PCIAddress
    private let opener: () throws(VirtualFunctionsError) -> VGPUManagementClient
    private var client: VGPUManagementClient?

    /// A channel that calls `open` the first time a command is sent.
    public init(
        root: HostRoot, pf: PCIAddress, open: @escaping () throws(VirtualFunctionsError) -> VGPUManagementClient
    ) {
        self.root = root
        self.pf = pf
        opener = open
    }

    /// A channel over an open client.
    public convenience init(root: HostRoot, pf: PCIAddress, client: VGPUManagementClient) {
        self.init(root: root, pf: pf, open: { () throws(VirtualFunctionsError) -> VGPUManagementClient in client })
    }

    deinit { close() }

    /// Releases the channel (RM objects, the fwctl file; a stub started for it).
    public func close() {
        client?.close()
        client = nil
    }

    func run<T>(_ body: (VGPUManagementClient) throws(ControlChannelError) -> T) throws(VirtualFunctionsError) -> T {
        if client == nil { client = try opener() }
        guard let c = client else { throw .failed(.controlChannel, "the control channel of \(pf) did not open") }
        do { return try body(c) } catch {
            throw VirtualFunctionsError(
                .controlChannel, error.exitStatus, "the control channel of \(pf) (\(c.transport.name)): \(error)",
                underlying: error)
        }
    }

    /// The PF's VFs as last read, and the `sriov_numvfs` they were read at.
    private var vfCache: (numVFs: String, vfs: [PCIAddress])?

    /// The VF at index `vf` (`virtfn<vf>`), nil when the PF has no such VF enabled. The list is
    /// read again whenever `sriov_numvfs` changes (VF addresses follow from the count).
    func address(_ vf: Int) -> PCIAddress? {
        let sysfs = SysfsReader(root: root)
        let numVFs = sysfs.text(HostRoot.deviceFile(pf, "sriov_numvfs")) ?? ""
        if vfCache?.numVFs != numVFs { vfCache = (numVFs, sysfs.device(pf)?.sriov?.vfs ?? []) }
        guard let vfs = vfCache?.vfs, vf >= 0, vf < vfs.count else { return nil }
        return vfs[vf]
    }

    func requireAddress(_ vf: Int) throws(VirtualFunctionsError) -> PCIAddress {
        guard let a = address(vf) else { throw .invalid(.noSuchVF, "\(pf) has no VF \(vf) enabled") }
        return a
    }

    public func addType(_ type: VGPUCatalog.VGPUType) throws(VirtualFunctionsError) {
        try run { c throws(ControlChannelError) in try c.addType(VGPUTypeRecord(type)) }
    }

    public func querySupported() throws(VirtualFunctionsError) -> [Int] {
        try run { c throws(ControlChannelError) in try c.querySupported().map { Int($0) } }
    }

    /// QUERY_CREATABLE_VGPU_TYPES is per PF (what an assignment to a free VF would take); a VF
    /// that carries a type, or does not exist, can take none.
    public func queryCreatable(vf: Int) throws(VirtualFunctionsError) -> [Int] {
        guard let a = address(vf) else { return [] }
        return try run { c throws(ControlChannelError) in
            if try c.queryAssigned(vf: a) != nil { return [] }
            return try c.queryCreatable().map { Int($0) }
        }
    }

    public func assignType(_ typeID: Int, vf: Int, placement: Int?, channelOffset: Int?) throws(VirtualFunctionsError) {
        let a = try requireAddress(vf)
        guard typeID > 0, typeID <= Int(UInt32.max) else {
            throw .invalid(.badRequest, "vGPU type id \(typeID) is out of range")
        }
        if let p = placement, p < 0 || p >= Int(NovaCoreTable.placementFirmwareChooses) {
            throw .invalid(.badRequest, "placement \(p) does not fit the 16-bit placementId")
        }
        if let o = channelOffset, o < 0 || o >= Int(NovaCoreTable.channelFirmwareChooses) {
            throw .invalid(.badRequest, "channel offset \(o) does not fit 32 bits")
        }
        try run { c throws(ControlChannelError) in
            try c.assign(
                vf: a, typeID: UInt32(typeID), placement: placement.map { UInt16($0) },
                channelOffset: channelOffset.map { UInt32($0) })
        }
    }

    public func deassignType(vf: Int) throws(VirtualFunctionsError) {
        guard let a = address(vf) else { return }
        try run { c throws(ControlChannelError) in try c.deassign(vf: a) }
    }

    public func queryProperties(_ typeID: Int) throws(VirtualFunctionsError) -> VGPUCatalog.VGPUType {
        guard typeID > 0, typeID <= Int(UInt32.max) else {
            throw .invalid(.badRequest, "vGPU type id \(typeID) is out of range")
        }
        return try run { c throws(ControlChannelError) in try c.queryProperties(UInt32(typeID)).catalogType }
    }

    /// What the VF carries. The channel range and frame-buffer offset come from vgpuctl's
    /// reply extension; a firmware that does not send it leaves them -1 (unknown). The copy
    /// engines and the BAR1 window come from the engine report after it (nil when absent).
    public func queryAssignedVF(_ vf: Int) throws(VirtualFunctionsError) -> VFAssignmentReport? {
        guard let a = address(vf) else { return nil }
        return try run { c throws(ControlChannelError) -> VFAssignmentReport? in
            guard let r = try c.queryAssigned(vf: a) else { return nil }
            var fb = r.framebufferMiB.map { Int($0) }
            var channels = r.channels.map { Int($0) }
            if fb == nil || channels == nil {
                let t = try c.queryProperties(r.typeID)
                fb = fb ?? Int(t.framebufferMiB)
                channels = channels ?? Int(t.channels)
            }
            return VFAssignmentReport(
                vf: vf, typeID: Int(r.typeID), placement: Int(r.placement),
                framebufferOffsetMiB: r.framebufferOffsetMiB.map { Int($0) } ?? -1, framebufferMiB: fb ?? 0,
                channelOffset: r.channelOffset.map { Int($0) } ?? -1, channels: channels ?? 0,
                copyEngines: r.copyEngineMask.map { m in (0..<32).filter { m & (1 << UInt32($0)) != 0 } },
                bar1: r.bar1Address.flatMap { a in r.bar1Size.map { BAR1Window(address: a, size: $0) } })
        }
    }
}

extension VGPUTypeRecord {
    /// The record of a profile catalog's type (ADD_VGPU_TYPE).
    public init(_ t: VGPUCatalog.VGPUType) {
        self.init(
            id: UInt32(clamping: t.id), name: t.name, maxInstances: UInt32(clamping: t.maxInstances),
            framebufferMiB: UInt32(clamping: t.framebufferMiB), nominalMiB: UInt32(clamping: t.nominalMiB),
            series: t.series,
            placementSize: UInt32(clamping: t.placementSize), placements: t.placements.map { UInt32(clamping: $0) },
            channels: UInt32(clamping: t.channels), copyEngines: UInt32(clamping: t.copyEngines),
            mig: t.mig.map {
                MIG(
                    profile: $0.profile, computeSlices: UInt32(clamping: $0.computeSlices),
                    memorySlices: UInt32(clamping: $0.memorySlices),
                    memoryPlacements: $0.memoryPlacements.map { UInt32(clamping: $0) })
            })
    }

    /// The record as a profile catalog's type (QUERY_VGPU_PROPERTIES).
    public var catalogType: VGPUCatalog.VGPUType {
        VGPUCatalog.VGPUType(
            name: name, id: Int(id), nominalMiB: Int(nominalMiB), series: series, framebufferMiB: Int(framebufferMiB),
            maxInstances: Int(maxInstances), placementSize: Int(placementSize), placements: placements.map { Int($0) },
            channels: Int(channels), copyEngines: Int(copyEngines),
            mig: mig.map {
                VGPUCatalog.MIGBacking(
                    profile: $0.profile, computeSlices: Int($0.computeSlices),
                    memorySlices: Int($0.memorySlices),
                    memoryPlacements: $0.memoryPlacements.map { Int($0) })
            })
    }
}
