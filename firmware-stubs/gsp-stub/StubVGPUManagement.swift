import ControlChannel
import Foundation
import GSPMessaging
import HostKit
import SimGPU
import VGPUTypes

/// gsp-stub's side of the control channel (stage 2): the RM control
/// `NV2080_CTRL_CMD_VGPUCTL_FWCTL_RPC` on a subdevice carries a nova-core fwctl request
/// (``FwctlOverRM``); the stub answers the seven vGPU management commands by driving the
/// simulated host's vGPU firmware model (SimGPU's `SimVGPUFirmware`, the same bookkeeping the
/// in-process simulation used), and refuses what the model cannot hold with an `NV_STATUS` and
/// the model's reason.
///
/// The host comes from ``StubHostLink`` (beside the shared file, or the root the shared file
/// lies under). A stub started for one vgpuctl process exits when that process is gone.
///
/// `VGPUCTL_STUB_FWCTL_FAULT` makes the replies bad, to test the driver side: `short`,
/// `wrong-command`, `reserved`, `oversized`, `refuse:STATUS`; and makes the firmware misreport a
/// VF's engines (``misreport(_:_:)``): `short-channels`, `short-engines`, `wide-bar1`.
enum StubVGPUManagement {
    /// Adds the control handler to `d` (called from ``StubDispatcher/standard()``).
    static func register(_ d: inout StubDispatcher) {
        let manager = StubVGPUManager.fromCommandLine()
        d.controls[NovaCoreTable.stubControl] = { state, _, payload in manager.handle(&state, &payload) }
    }
}

/// The vGPU management firmware of one stub.
final class StubVGPUManager {
    let root: HostRoot?
    let pf: PCIAddress?
    let fault: String?
    /// The GSP-RM build an added type must name (`570.144`, or `r000_00` for the development
    /// firmware).
    let firmwareVersion: String
    /// The firmware model, kept across commands (it caches the host's description).
    let firmware: SimVGPUFirmware?
    let vfCache = VFCache()

    /// The PF's VFs as last read, and the `sriov_numvfs` they were read at.
    final class VFCache {
        var numVFs: String?
        var list: [PCIAddress] = []

        func vfs(root: HostRoot, pf: PCIAddress) -> [PCIAddress] {
            let sysfs = SysfsReader(root: root)
            let n = sysfs.text(HostRoot.deviceFile(pf, "sriov_numvfs")) ?? ""
            if n != numVFs {
                numVFs = n
                list = sysfs.device(pf)?.sriov?.vfs ?? []
            }
            return list
        }
    }

    init(
        root: HostRoot?, pf: PCIAddress?, fault: String?, firmwareVersion: String = GSPFirmwareTable.current.version
    ) {
        self.root = root
        self.pf = pf
        self.fault = fault
        self.firmwareVersion = firmwareVersion
        firmware = root.flatMap { r in pf.map { SimVGPUFirmware(root: r, pf: $0) } }
    }

    /// The manager for this process's `--shared` and `--pf`, watching the owner the host link
    /// names.
    static func fromCommandLine() -> StubVGPUManager {
        let fault = StubEnvironment.current.fwctlFault
        guard let options = try? StubOptions.parse(Array(CommandLine.arguments.dropFirst())),
            let link = StubHostLink.find(sharedFile: options.sharedFile, pf: options.pf)
        else {
            return StubVGPUManager(root: nil, pf: nil, fault: fault)
        }
        if let owner = link.ownerPid { watch(owner: owner) }
        return StubVGPUManager(
            root: HostRoot(link.hostRoot), pf: PCIAddress(options.pf), fault: fault,
            firmwareVersion: options.firmware == .r000_00
                ? GSPWireFormat.r000_00.rawValue : GSPFirmwareTable.current.version)
    }

    /// Exits when process `owner` is gone (a stub started for one vgpuctl process).
    static func watch(owner: Int32) {
        Thread.detachNewThread {
            while true {
                if kill(owner, 0) != 0 && errno == ESRCH {
                    FileHandle.standardOutput.write(
                        Data("gsp-stub: vgpuctl process \(owner), which started this stub, is gone; exiting\n".utf8))
                    exit(0)
                }
                usleep(200_000)
            }
        }
    }

    /// Handles one control: the whole `rpc_gsp_rm_control_v03_00` payload, parameters after
    /// its 24-byte header, answered in place. The RM status is the control's own; the
    /// management command's status goes into the parameters.
    func handle(_ state: inout StubState, _ payload: inout [UInt8]) -> UInt32 {
        let h = RMControl.headerSize
        var params: FwctlOverRM
        do { params = try FwctlOverRM(decoding: Array(payload[h...]), asRequest: true) } catch {
            state.note("NV2080_CTRL_CMD_VGPUCTL_FWCTL_RPC rejected: \(error)")
            return NVStatus.errInvalidParamStruct
        }
        let request = params.request
        let commandID = request.count >= 4 ? request.le32(0) : 0
        let command = NovaCoreTable.command(commandID)
        let outcome = serve(&state, params)
        var reply: [UInt8]
        switch outcome {
        case .answer(let r):
            reply = command.map { r.encoded(for: $0) } ?? []
        case .refuse(let status, let why):
            state.note("\(command?.name ?? hex0x(commandID)) refused: \(NVStatusText.describe(status)): \(why)")
            params.refuse(status: status, reason: why)
            payload.replaceSubrange(h..., with: params.encoded)
            return NVStatus.ok
        }
        var reported = reply.count
        switch fault {
        case "short"?:
            reply = Array(reply.prefix(4))
            reported = 4
        case "wrong-command"?: reply.put32(0, commandID &+ 1)
        case "reserved"?: reply.put32(4, 0xDEAD)
        case "oversized"?: reported = params.room + 64
        case let f? where f.hasPrefix("refuse:"):
            let status = NVStatus.parse(String(f.dropFirst(7))) ?? NVStatus.errGeneric
            params.refuse(status: status, reason: "")
            payload.replaceSubrange(h..., with: params.encoded)
            return NVStatus.ok
        default: break
        }
        params.answer(status: NVStatus.ok, reply: Array(reply.prefix(params.room)), reportedLength: reported)
        payload.replaceSubrange(h..., with: params.encoded)
        return NVStatus.ok
    }

    /// Handles one r000_00 GMC API command (`GMCAPI_CMD_*` 0x1000000N): the same management
    /// command as the fwctl request with the 0x0002000N id, its payload after the
    /// `GMCAPI_HEADER`. Returns the status, the response payload (after the 8-byte fwctl
    /// header the management codec adds) and, on a refusal, the reason for the log.
    func handleGMC(_ state: inout StubState, command: NovaCoreTable.Command, payload: [UInt8], maxResponse: Int)
        -> (status: UInt32, payload: [UInt8])
    {
        var request = [UInt8](repeating: 0, count: NovaCoreTable.headerSize)
        request.put32(0, command.id)
        let params = FwctlOverRM(
            scope: NovaCoreTable.permittedScope, request: request + payload,
            room: NovaCoreTable.headerSize + maxResponse)
        switch serve(&state, params) {
        case .answer(let r):
            let reply = Array(r.encoded(for: command).dropFirst(NovaCoreTable.headerSize))
            return (NVStatus.ok, Array(reply.prefix(maxResponse)))
        case .refuse(let status, let why):
            state.note(
                "\(GMCCommandTable.name(of: NovaCoreTable.CommandIDSet.r000_00.id(Int(command.id & 0xF)))) refused: \(NVStatusText.describe(status)): \(why)"
            )
            return (status, [])
        }
    }

    enum Outcome {
        case answer(ManagementReply)
        case refuse(UInt32, String)
    }

    /// Runs one command against the firmware model.
    func serve(_ state: inout StubState, _ params: FwctlOverRM) -> Outcome {
        guard params.scope == NovaCoreTable.permittedScope.rawValue else {
            return .refuse(
                NVStatusText.errInsufficientPermissions,
                "the vGPU management commands are permitted only in the configuration scope, not scope \(params.scope)")
        }
        guard state.sriovMode else {
            return .refuse(NVStatus.errNotSupported, "GSP-RM was booted without vGPU (RMSetSriovMode is not 1)")
        }
        guard let root, let pf, let fw = firmware else {
            return .refuse(
                NVStatus.errNotSupported, "this stub knows no simulated host to keep its vGPU firmware state in")
        }
        let request: ManagementRequest
        do { request = try ManagementRequest(decoding: params.request) } catch {
            return .refuse(error.status, error.reason)
        }
        // VFs by index (`virtfnN`), read again when sriov_numvfs changes (addresses follow from it).
        func vfs() -> [PCIAddress] { vfCache.vfs(root: root, pf: pf) }
        func index(_ d: DBDF) -> Int? { d.address.flatMap { vfs().firstIndex(of: $0) } }
        do {
            switch request {
            case .addType(let record, let version, let discard):
                guard !discard else {
                    return .refuse(NVStatus.errNotSupported, "discarding the vGPU types added before is not modelled")
                }
                guard version == firmwareVersion else {
                    return .refuse(
                        NVStatus.errInvalidArgument,
                        "the type was built for GSP-RM \(version), this is \(firmwareVersion)")
                }
                if let why = Self.unusable(record) {
                    return .refuse(NVStatus.errInvalidData, "type \(record.id) (\(record.name)): \(why)")
                }
                try fw.addType(Self.type(record))
                return .answer(.done)
            case .querySupported:
                return .answer(.typeIDs(try fw.querySupported().map { UInt32($0) }))
            case .queryCreatable:
                // Per PF: what an assignment to the lowest free VF would take (every free VF
                // takes the same).
                for i in 0..<vfs().count {
                    if try fw.queryAssignedVF(i) == nil {
                        return .answer(.typeIDs(try fw.queryCreatable(vf: i).map { UInt32($0) }))
                    }
                }
                return .answer(.typeIDs([]))
            case .assign(let vf, let typeID, let placement, let channelOffset):
                guard let i = index(vf) else {
                    return .refuse(NVStatusText.errInvalidIndex, "\(vf) is not a VF of \(pf)")
                }
                guard try fw.querySupported().contains(Int(typeID)) else {
                    return .refuse(NVStatus.errObjectNotFound, "vGPU type \(typeID) was never added")
                }
                if let a = try fw.queryAssignedVF(i) {
                    return .refuse(NVStatusText.errInUse, "VF \(i) already carries type \(a.typeID)")
                }
                let p = placement == NovaCoreTable.placementFirmwareChooses ? nil : Int(placement)
                do {
                    try fw.assignType(Int(typeID), vf: i, placement: p, channelOffset: channelOffset.map { Int($0) })
                } catch {
                    return .refuse(NVStatus.errInsufficientResources, error.message)
                }
                return .answer(.done)
            case .deassign(let vf):
                guard let i = index(vf) else {
                    return .refuse(NVStatusText.errInvalidIndex, "\(vf) is not a VF of \(pf)")
                }
                try fw.deassignType(vf: i)
                return .answer(.done)
            case .queryProperties(let typeID):
                do { return .answer(.properties(Self.record(try fw.queryProperties(Int(typeID))))) } catch {
                    return .refuse(NVStatus.errObjectNotFound, error.message)
                }
            case .queryAssigned(let vf):
                guard let i = index(vf) else {
                    return .refuse(NVStatusText.errInvalidIndex, "\(vf) is not a VF of \(pf)")
                }
                guard let a = try fw.queryAssignedVF(i) else { return .answer(.assigned(nil)) }
                let t = try? fw.queryProperties(a.typeID)
                var reply = AssignedVF(
                    typeID: UInt32(a.typeID), placement: UInt16(clamping: a.placement),
                    channelOffset: UInt32(a.channelOffset), channels: UInt32(t?.channels ?? 0),
                    framebufferOffsetMiB: UInt32(a.placement * fw.unitMiB),
                    framebufferMiB: UInt32(t?.framebufferMiB ?? 0))
                if let e = try fw.engines(vf: i) {
                    reply.copyEngineMask = e.copyEngines.reduce(UInt32(0)) { $0 | (1 << UInt32($1 & 31)) }
                    reply.bar1Address = e.bar1Address
                    reply.bar1Size = e.bar1Size
                }
                return .answer(.assigned(Self.misreport(reply, fault)))
            }
        } catch {
            let status: UInt32 =
                switch error.errno {
                case .resourceBusy: NVStatusText.errInUse
                case .noSuchDevice: NVStatus.errNotSupported
                case .invalidArgument: NVStatus.errInvalidArgument
                default: NVStatus.errGeneric
                }
            return .refuse(status, error.message)
        }
    }

    /// The engine report as a misbehaving firmware sends it (`VGPUCTL_STUB_FWCTL_FAULT`):
    /// `short-channels` half the VF's channels, `short-engines` one copy engine fewer (the
    /// highest), `wide-bar1` a BAR1 window twice the VF's BAR1.
    static func misreport(_ a: AssignedVF, _ fault: String?) -> AssignedVF {
        var a = a
        switch fault {
        case "short-channels"?: a.channels = a.channels.map { $0 / 2 }
        case "short-engines"?:
            if let m = a.copyEngineMask, m != 0 {
                a.copyEngineMask = m & ~(UInt32(1) << UInt32(31 - m.leadingZeroBitCount))
            }
        case "wide-bar1"?: a.bar1Size = a.bar1Size.map { $0 * 2 }
        default: break
        }
        return a
    }

    /// Why the firmware cannot hold a type record at all (its model divides by these).
    static func unusable(_ r: VGPUTypeRecord) -> String? {
        if r.maxInstances == 0 { return "MAX_INSTANCE is 0" }
        if r.placementSize == 0 { return "its placement size is 0" }
        if r.placements.isEmpty { return "it has no placements" }
        if r.channels == 0 { return "it has no channels" }
        return nil
    }

    static func type(_ r: VGPUTypeRecord) -> VGPUCatalog.VGPUType {
        VGPUCatalog.VGPUType(
            name: r.name, id: Int(r.id), nominalMiB: Int(r.nominalMiB), series: r.series,
            framebufferMiB: Int(r.framebufferMiB), maxInstances: Int(r.maxInstances),
            placementSize: Int(r.placementSize), placements: r.placements.map { Int($0) },
            channels: Int(r.channels), copyEngines: Int(r.copyEngines),
            mig: r.mig.map {
                VGPUCatalog.MIGBacking(
                    profile: $0.profile, computeSlices: Int($0.computeSlices),
                    memorySlices: Int($0.memorySlices),
                    memoryPlacements: $0.memoryPlacements.map { Int($0) })
            })
    }

    static func record(_ t: VGPUCatalog.VGPUType) -> VGPUTypeRecord {
        VGPUTypeRecord(
            id: UInt32(clamping: t.id), name: t.name, maxInstances: UInt32(clamping: t.maxInstances),
            framebufferMiB: UInt32(clamping: t.framebufferMiB), nominalMiB: UInt32(clamping: t.nominalMiB),
            series: t.series,
            placementSize: UInt32(clamping: t.placementSize), placements: t.placements.map { UInt32(clamping: $0) },
            channels: UInt32(clamping: t.channels), copyEngines: UInt32(clamping: t.copyEngines),
            mig: t.mig.map {
                .init(
                    profile: $0.profile, computeSlices: UInt32(clamping: $0.computeSlices),
                    memorySlices: UInt32(clamping: $0.memorySlices),
                    memoryPlacements: $0.memoryPlacements.map { UInt32(clamping: $0) })
            })
    }
}
