/// Identity facts about the devices vgpuctl manages, in one table chosen by device id.
///
/// Sources: `drivers/vfio/pci/nvgrace-gpu/main.c` (Grace ids, all `PCI_DRIVER_OVERRIDE_DEVICE_VFIO`),
/// NVIDIA vgpu-device-manager's example config (device ids of the data-center GPUs).
public enum PCIIDs {
    public static let nvidiaVendor: UInt16 = 0x10de

    /// The VFIO driver a device needs for whole-device passthrough.
    public enum VFIODriver: String, Sendable, Codable {
        case vfioPCI = "vfio-pci"
        case nvgrace = "nvgrace_gpu_vfio_pci"

        /// The module an operator loads to make the driver available.
        public var module: String {
            switch self {
            case .vfioPCI: "vfio-pci"
            case .nvgrace: "nvgrace-gpu-vfio-pci"
            }
        }
    }

    /// Grace-coupled GPUs driven by `nvgrace_gpu_vfio_pci`, which binds only through
    /// `driver_override`. Names as the kernel source comments them (see ROADMAP: 0x2342 is
    /// called "GH200 480GB" in a published guest capture).
    public static let grace: [UInt16: String] = [
        0x2342: "GH200 120GB",
        0x2345: "GH200 480GB",
        0x2348: "GH200",
        0x2941: "GB200",
        0x31C2: "GB300",
    ]

    /// Whether `vendor:device` is a Grace GPU (needs `nvgrace_gpu_vfio_pci`).
    public static func isGrace(vendor: UInt16, device: UInt16) -> Bool {
        vendor == nvidiaVendor && grace[device] != nil
    }

    /// Whether the Grace GPU is a Grace Blackwell part (no resmem carve-out).
    public static func isGraceBlackwell(device: UInt16) -> Bool { device == 0x2941 || device == 0x31C2 }

    /// The VFIO driver for a device.
    public static func vfioDriver(vendor: UInt16, device: UInt16) -> VFIODriver {
        isGrace(vendor: vendor, device: device) ? .nvgrace : .vfioPCI
    }

    /// Names for NVIDIA data-center GPUs the PCI id database may not know yet (Debian's
    /// pci.ids lags behind new parts). libpci's answer wins when it has one.
    public static let fallbackNames: [UInt16: String] = [
        0x2330: "GH100 [H100 SXM5 80GB]",
        0x2331: "GH100 [H100 PCIe]",
        0x2321: "GH100 [H100 NVL]",
        0x2335: "GH100 [H200 SXM 141GB]",
        0x2342: "GH100 [GH200 120GB / 480GB]",
        0x2345: "GH100 [GH200 480GB]",
        0x2348: "GH100 [GH200 144G HBM3e]",
        0x2941: "GB100 [GB200]",
        0x31C2: "GB110 [GB300]",
        0x26B9: "AD102GL [L40S]",
        0x2230: "GA102GL [RTX A6000]",
        0x1AEF: "GA102 High Definition Audio Controller",
    ]

    /// PCI class codes (base class << 8 | subclass) vgpuctl cares about.
    public static let classVGA: UInt16 = 0x0300
    public static let class3D: UInt16 = 0x0302
    public static let classAudio: UInt16 = 0x0403
    public static let classBridgePCI: UInt16 = 0x0604

    /// Whether a device is a GPU vgpuctl manages: an NVIDIA display or 3D controller.
    public static func isNVIDIAGPU(vendor: UInt16, classCode: UInt32) -> Bool {
        let cls = UInt16(classCode >> 8)
        return vendor == nvidiaVendor && (cls == classVGA || cls == class3D)
    }
}
