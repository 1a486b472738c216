import HostKit

/// A GPU's architecture, from its PCI device id (the chip ranges NVIDIA's ids fall in; nova-core
/// reads `NV_PMC_BOOT_0` instead, which a simulated GPU does not have).
public enum GPUArchitecture: String, Sendable, Codable, CaseIterable {
    case turing, ampere, ada, hopper, blackwell, unknown

    /// By device id: TU10x 0x1E00-0x1FFF, GA10x 0x2000-0x25FF (GA100 0x20xx, GA102-107
    /// 0x22xx-0x25xx), GH100 0x2300-0x23FF, AD10x 0x2600-0x28FF, GB10x/GB20x 0x2900-0x2FFF.
    public static func of(deviceID: UInt16) -> GPUArchitecture {
        switch deviceID {
        case 0x1E00...0x1FFF: .turing
        case 0x2000...0x22FF, 0x2400...0x25FF: .ampere
        case 0x2300...0x23FF: .hopper
        case 0x2600...0x28FF: .ada
        case 0x2900...0x2FFF: .blackwell
        default: .unknown
        }
    }

    /// Whether the vGPU boot series lets vGPU on for this chip, and on whose word.
    ///
    /// "[PATCH v2 4/7]" (2026-06-22) enables vGPU in nova-core's HAL for Ada and Blackwell.
    /// Hopper is not in that HAL yet; vgpuctl lets it through (NVIDIA's vGPU 17+ runs on
    /// Hopper, and the project's H100/H200/GH200 models are Hopper) and says so: this entry is
    /// vgpuctl's, not upstream's.
    public var vgpuGate: (allowed: Bool, source: String) {
        switch self {
        case .ada, .blackwell: (true, "the vGPU series' HAL ([PATCH v2 4/7], 2026-06-22)")
        case .hopper: (true, "vgpuctl (NVIDIA vGPU 17+ supports Hopper; the series' HAL does not list it yet)")
        case .turing, .ampere: (false, "the vGPU series' HAL enables vGPU on Ada and Blackwell only")
        case .unknown: (false, "an unknown chip: the vGPU series' HAL enables vGPU on Ada and Blackwell only")
        }
    }

    /// Capitalised name for messages.
    public var title: String { rawValue.prefix(1).uppercased() + rawValue.dropFirst() }
}

/// Upstream's rule for booting GSP-RM with vGPU (the vGPU series since "[PATCH v2 4/7]",
/// which removed the `vgpu_support` parameter): vGPU is on only when (1) the chip allows it,
/// (2) the PF reports `pci_sriov_get_totalvfs() >= 2`, and (3) the firmware's vGPU-mode
/// setting (FSP "PRC knob 0x29") reads Enabled.
public struct VGPUGate: Sendable, Codable, Equatable {
    /// The FSP's vGPU-mode knob (`NV_PRC_KNOB_ID_VGPU_MODE`, 0x29, per NVIDIA gpu-admin-tools).
    public static let prcKnobVGPUMode: UInt16 = 0x29
    /// The fewest VFs upstream boots vGPU for.
    public static let minimumTotalVFs = 2

    public var architecture: GPUArchitecture
    public var deviceID: UInt16
    public var totalVFs: Int
    /// What the FSP says (nil: nobody could ask it).
    public var fspVGPUMode: Bool?

    public init(architecture: GPUArchitecture, deviceID: UInt16, totalVFs: Int, fspVGPUMode: Bool?) {
        self.architecture = architecture
        self.deviceID = deviceID
        self.totalVFs = totalVFs
        self.fspVGPUMode = fspVGPUMode
    }

    /// The conditions that fail, each as its own sentence (empty: vGPU may boot).
    public func failures(pf: PCIAddress) -> [String] {
        var out: [String] = []
        let chip = architecture.vgpuGate
        if !chip.allowed {
            out.append(
                "\(pf) is \(architecture == .unknown ? "a GPU of unknown architecture" : "an \(architecture.title) GPU") (device \(hex0x(UInt32(deviceID)))), and \(chip.source): this chip cannot boot with vGPU"
            )
        }
        if totalVFs < Self.minimumTotalVFs {
            out.append(
                "\(pf) reports TotalVFs \(totalVFs) in its SR-IOV capability; vGPU needs at least \(Self.minimumTotalVFs) (pci_sriov_get_totalvfs() >= 2)"
            )
        }
        if fspVGPUMode == false {
            out.append(
                "\(pf)'s firmware vGPU mode (FSP PRC knob 0x29) is disabled; on a real host query it with NVIDIA gpu-admin-tools 'nvidia_gpu_tools.py --gpu-bdf=\(pf) --query-vgpu-mode' and enable it with '--set-vgpu-mode=1' (then reset the GPU); on a simulated host: 'vgpuctl sim vgpu-mode \(pf) enable'"
            )
        }
        return out
    }
}
