import HostKit
import VGPUTypes

/// The vGPU management commands of the upstream plan's control channel (stage 2: fwctl on a
/// real host, gsp-stub on a simulated one), one channel per PF.
///
/// This is the shape stage 3 needs; stage 2 (`staging/ControlChannel`) owns the wire encoding
/// (fwctl `FWCTL_RPC` payloads, or the same bytes over the GSP queues to the stub) and plugs in
/// by conforming to this protocol. Until then a simulated host's firmware is reached in-process.
/// VFs are named by index (0 for `virtfn0`; the firmware's GFID is index + 1).
public protocol VGPUControlChannel {
    /// `ADD_TYPE`: teaches the firmware a type from a profile file (upstream has no built-in
    /// table: the host feeds it).
    func addType(_ type: VGPUCatalog.VGPUType) throws(VirtualFunctionsError)
    /// `QUERY_SUPPORTED`: the type ids the firmware knows.
    func querySupported() throws(VirtualFunctionsError) -> [Int]
    /// `QUERY_CREATABLE`: the type ids the firmware would assign to VF `vf` now.
    func queryCreatable(vf: Int) throws(VirtualFunctionsError) -> [Int]
    /// `ASSIGN_TYPE`: gives VF `vf` type `typeID` at placement unit `placement` with the channel
    /// range starting at `channelOffset` (nil: the firmware chooses, lowest first).
    func assignType(_ typeID: Int, vf: Int, placement: Int?, channelOffset: Int?) throws(VirtualFunctionsError)
    /// `DEASSIGN_TYPE`: removes VF `vf`'s type (no-op when it has none).
    func deassignType(vf: Int) throws(VirtualFunctionsError)
    /// `QUERY_PROPERTIES`: a type as the firmware has it.
    func queryProperties(_ typeID: Int) throws(VirtualFunctionsError) -> VGPUCatalog.VGPUType
    /// `QUERY_ASSIGNED_VF`: what VF `vf` carries, nil when nothing.
    func queryAssignedVF(_ vf: Int) throws(VirtualFunctionsError) -> VFAssignmentReport?
}

/// `QUERY_ASSIGNED_VF`'s answer.
public struct VFAssignmentReport: Sendable, Equatable, Codable {
    public var vf: Int
    public var typeID: Int
    /// First placement unit of the VF's frame buffer.
    public var placement: Int
    /// Frame buffer offset and size in MiB.
    public var framebufferOffsetMiB: Int
    public var framebufferMiB: Int
    /// Channel range.
    public var channelOffset: Int
    public var channels: Int
    /// The copy engines serving the VF and its BAR1 window, when the firmware reports them
    /// (vgpuctl's reply extension; nil: not reported).
    public var copyEngines: [Int]?
    public var bar1: BAR1Window?

    public init(
        vf: Int, typeID: Int, placement: Int, framebufferOffsetMiB: Int, framebufferMiB: Int, channelOffset: Int,
        channels: Int, copyEngines: [Int]? = nil, bar1: BAR1Window? = nil
    ) {
        self.vf = vf
        self.typeID = typeID
        self.placement = placement
        self.framebufferOffsetMiB = framebufferOffsetMiB
        self.framebufferMiB = framebufferMiB
        self.channelOffset = channelOffset
        self.channels = channels
        self.copyEngines = copyEngines
        self.bar1 = bar1
    }

    /// What the firmware reported, for the engine check (the channel range when it told one).
    public func firmwareReport(type: String) -> VFFirmwareReport {
        VFFirmwareReport(
            vf: vf, type: type,
            channels: channelOffset >= 0 ? GPUBook.Span(offset: channelOffset, count: channels) : nil,
            copyEngines: copyEngines, bar1: bar1)
    }
}

/// Opens the control channel of a PF (nil when the host has none for it).
public typealias ControlChannelFactory = (PCIAddress) throws(VirtualFunctionsError) -> (any VGPUControlChannel)?

/// The upstream backend's driver side: types go to the firmware with `ADD_TYPE`, then VFs get
/// them with `ASSIGN_TYPE`/`DEASSIGN_TYPE` at the placement and channel range vgpuctl's book
/// chose. VFs stay unbound until `passthrough assign` hands them to vfio-pci.
public struct UpstreamInterface: VGPUInterface {
    public let channel: any VGPUControlChannel
    public let catalog: VGPUCatalog

    public init(channel: any VGPUControlChannel, catalog: VGPUCatalog) {
        self.channel = channel
        self.catalog = catalog
    }

    public var kind: VGPUBackendKind { .upstream }
    public var vfsNeedVendorDriver: Bool { false }

    public func prepare(_ catalog: VGPUCatalog) throws(VirtualFunctionsError) {
        let known = Set(try channel.querySupported())
        for t in catalog.types where !known.contains(t.id) { try channel.addType(t) }
    }

    public func unusable(_ vf: VFRef) -> String? { nil }

    public func current(_ vf: VFRef) throws(VirtualFunctionsError) -> DriverAssignment? {
        guard let r = try channel.queryAssignedVF(vf.index) else { return nil }
        let name =
            catalog.type(id: r.typeID)?.name ?? (try? channel.queryProperties(r.typeID).name) ?? "type id \(r.typeID)"
        return DriverAssignment(
            typeName: name, typeID: r.typeID, placement: r.placement, channelOffset: r.channelOffset,
            firmware: r.firmwareReport(type: name))
    }

    public func creatable(_ vf: VFRef) throws(VirtualFunctionsError) -> [String]? {
        try channel.queryCreatable(vf: vf.index).map { id in catalog.type(id: id)?.name ?? "type id \(id)" }
    }

    public func create(_ type: VGPUCatalog.VGPUType, on vf: VFRef, entry: GPUBook.Entry) throws(VirtualFunctionsError) {
        try channel.assignType(type.id, vf: vf.index, placement: entry.placement, channelOffset: entry.channels.offset)
    }

    public func destroy(_ vf: VFRef, current: DriverAssignment) throws(VirtualFunctionsError) {
        try channel.deassignType(vf: vf.index)
    }

    public func handoff(_ vf: VFRef, current: DriverAssignment?) -> Handoff { .viaPassthrough(vf.address) }
}
