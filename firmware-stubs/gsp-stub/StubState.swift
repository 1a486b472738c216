import Foundation
import GPUModels
import GSPMessaging

/// What the stub's GSP-RM knows: the GPU model it plays, what the driver told it at boot, the
/// static info it serves, its RM objects, and a log. Written to the report file so tests and
/// operators can see what the firmware received.
struct StubState {
    let model: String
    let spec: DeviceSpec
    let pf: String
    var systemInfo: GSPSystemInfo?
    var registry: RegistryTable?
    var wprMeta = WPRMeta()
    var staticInfo = GSPStaticInfo()
    var objects = RMObjectTable()
    var log: [String] = []
    var halt: String?
    var commandsReceived = 0
    /// Set by UNLOADING_GUEST_DRIVER: after the reply the firmware goes away (the unloader).
    var unloading = false
    /// r000_00: whether GSP_INIT's system info asked for vGPU (nil: r570.144, see ``sriovMode``).
    var gmcVGPU: Bool?
    /// The firmware version the report names (r570.144 unless the stub plays r000_00).
    var firmwareName = GSPFirmwareTable.current.version
    /// How the firmware was started: "FSP" or "SEC2 booter + CPU sequencer" (r570.144 boots).
    var bootPath: String?

    init(model: String, spec: DeviceSpec, pf: String) {
        self.model = model
        self.spec = spec
        self.pf = pf
    }

    mutating func note(_ line: String) {
        log.append(line)
        FileHandle.standardOutput.write(Data("gsp-stub: \(line)\n".utf8))
    }

    /// Whether the driver asked for SR-IOV (vGPU) mode.
    var sriovMode: Bool { gmcVGPU ?? (registry?["RMSetSriovMode"] == 1) }

    /// Fills ``staticInfo`` from the model and what the driver sent.
    mutating func buildStaticInfo() {
        var s = GSPStaticInfo()
        s.gpuName = spec.name ?? model
        s.gpuShortName = String(
            (spec.name ?? model).replacingOccurrences(of: "NVIDIA ", with: "").split(separator: " ").first ?? "")
        s.fbLength = (spec.memoryMiB?.value ?? 0) << 20
        if s.fbLength > 0 {
            s.fbRegionBase = 0
            s.fbRegionLimit = (wprMeta.gspFwWprStart > 0 ? wprMeta.gspFwWprStart : s.fbLength) - 1
        }
        s.isTesla = spec.classCode.value >> 8 == 0x0302
        if let info = systemInfo {
            s.vbiosSubVendor = info.pciSubDeviceID & 0xFFFF
            s.vbiosSubDevice = info.pciSubDeviceID >> 16
            if sriovMode, info.vfInfo.totalVFs > 0 {
                let vf = info.vfInfo
                s.isVgx = true
                s.sriovMaxGfid = vf.totalVFs
                s.sriov.sriovEnabled = true
                s.sriov.totalVFs = vf.totalVFs
                s.sriov.firstVfOffset = vf.firstVFOffset
                s.sriov.firstVFBar0Address = vf.firstVFBar0Address
                s.sriov.firstVFBar1Address = vf.firstVFBar1Address
                s.sriov.firstVFBar2Address = vf.firstVFBar2Address
                s.sriov.b64bitBar0 = vf.b64bitBar0
                s.sriov.b64bitBar1 = vf.b64bitBar1
                s.sriov.b64bitBar2 = vf.b64bitBar2
                // Per-VF BAR sizes from the model, counted as BARs (0, 1, 2) like GSP_VF_INFO.
                let bars = (spec.sriov?.vfBars ?? []).sorted { $0.index < $1.index }
                if bars.count > 0 { s.sriov.bar0Size = bars[0].size.value }
                if bars.count > 1 { s.sriov.bar1Size = bars[1].size.value }
                if bars.count > 2 { s.sriov.bar2Size = bars[2].size.value }
            }
        }
        s.hInternalClient = RMObjectTable.internalClient
        s.hInternalDevice = RMObjectTable.internalDevice
        s.hInternalSubdevice = RMObjectTable.internalSubdevice
        staticInfo = s
    }

    /// The report written to `--report`.
    struct Report: Codable {
        var pid: Int32
        var model: String
        var pf: String
        var firmware: String
        var firmwareState: String
        var systemInfo: GSPSystemInfo?
        var vfInfo: GSPVFInfo?
        var registry: [RegistryEntry]?
        var wprHeapMiB: UInt64
        var vfPartitionCount: UInt8
        var staticInfo: GSPStaticInfo
        var rmObjects: Int
        var commandsReceived: Int
        var log: [String]
        var halt: String?
        var bootPath: String?
    }

    func write(report path: String?, state: FirmwareState) {
        guard let path else { return }
        let r = Report(
            pid: getpid(), model: model, pf: pf, firmware: firmwareName,
            firmwareState: state.description, systemInfo: systemInfo, vfInfo: systemInfo?.vfInfo,
            registry: registry?.entries, wprHeapMiB: wprMeta.gspFwHeapSize >> 20,
            vfPartitionCount: wprMeta.gspFwHeapVfPartitionCount, staticInfo: staticInfo,
            rmObjects: objects.count, commandsReceived: commandsReceived, log: log, halt: halt,
            bootPath: bootPath)
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        if let d = try? e.encode(r) { try? d.write(to: URL(fileURLWithPath: path), options: .atomic) }
    }
}
