/// The payload of `GET_GSP_STATIC_INFO` (`GspStaticConfigInfo`, 0x678 bytes for r570.144).
/// The CPU sends it zeroed; GSP-RM answers with it filled.
///
/// Exact: the size and the offsets in ``Offset`` (checked against the C mirror). Simplified:
/// vgpuctl reads and writes only the fields below; the rest (GR caps, GID, SKU, engine caps,
/// PDE bases, display limits, ECID) stay zero in what the stub sends.
public struct GSPStaticInfo: Codable, Equatable, Sendable {
    public static let size = 0x678

    public enum Offset {
        public static let fbRegionInfoParams = 0x158
        public static let sriovCaps = 0x460
        public static let sriovMaxGfid = 0x4B0
        public static let fbLength = 0x4C8
        public static let fbBusWidth = 0x4D8
        public static let fbRamType = 0x4DC
        public static let l2CacheSize = 0x4E8
        public static let gpuNameString = 0x4EC
        public static let gpuShortNameString = 0x52C
        public static let bIsVgx = 0x5F0
        public static let bIsTesla = 0x5F3
        public static let bIsMigSupported = 0x5F9
        public static let vbiosSubVendor = 0x614
        public static let vbiosSubDevice = 0x618
        public static let hInternalClient = 0x640
        public static let hInternalDevice = 0x644
        public static let hInternalSubdevice = 0x648
    }

    /// `NV0080_CTRL_GPU_GET_SRIOV_CAPS_PARAMS` (0x50 bytes at 0x460).
    public struct SRIOVCaps: Codable, Equatable, Sendable {
        public var totalVFs: UInt32 = 0
        public var firstVfOffset: UInt32 = 0
        public var vfFeatureMask: UInt32 = 0
        public var firstVFBar0Address: UInt64 = 0
        public var firstVFBar1Address: UInt64 = 0
        public var firstVFBar2Address: UInt64 = 0
        public var bar0Size: UInt64 = 0
        public var bar1Size: UInt64 = 0
        public var bar2Size: UInt64 = 0
        public var b64bitBar0 = false
        public var b64bitBar1 = false
        public var b64bitBar2 = false
        public var sriovEnabled = false
        public init() {}
    }

    public var gpuName: String = ""
    public var gpuShortName: String = ""
    /// Frame buffer size in bytes (`fb_length`).
    public var fbLength: UInt64 = 0
    public var fbBusWidth: UInt32 = 0
    public var fbRamType: UInt32 = 0
    public var l2CacheSize: UInt32 = 0
    /// One frame-buffer region (`fbRegionInfoParams.fbRegion[0]`): base and limit, when present.
    public var fbRegionBase: UInt64 = 0
    public var fbRegionLimit: UInt64 = 0
    public var sriov = SRIOVCaps()
    public var sriovMaxGfid: UInt32 = 0
    public var isVgx = false
    public var isTesla = false
    public var isMigSupported = false
    public var vbiosSubVendor: UInt32 = 0
    public var vbiosSubDevice: UInt32 = 0
    /// Handles of GSP-RM's internal client, device and subdevice (for RM controls).
    public var hInternalClient: UInt32 = 0
    public var hInternalDevice: UInt32 = 0
    public var hInternalSubdevice: UInt32 = 0

    public init() {}

    public var encoded: [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        let fb = Offset.fbRegionInfoParams
        if fbRegionLimit != 0 {
            b.put32(fb, 1)
            b.put64(fb + 8, fbRegionBase)
            b.put64(fb + 16, fbRegionLimit)
        }
        let s = Offset.sriovCaps
        b.put32(s, sriov.totalVFs)
        b.put32(s + 4, sriov.firstVfOffset)
        b.put32(s + 8, sriov.vfFeatureMask)
        b.put64(s + 0x10, sriov.firstVFBar0Address)
        b.put64(s + 0x18, sriov.firstVFBar1Address)
        b.put64(s + 0x20, sriov.firstVFBar2Address)
        b.put64(s + 0x28, sriov.bar0Size)
        b.put64(s + 0x30, sriov.bar1Size)
        b.put64(s + 0x38, sriov.bar2Size)
        b[s + 0x40] = sriov.b64bitBar0 ? 1 : 0
        b[s + 0x41] = sriov.b64bitBar1 ? 1 : 0
        b[s + 0x42] = sriov.b64bitBar2 ? 1 : 0
        b[s + 0x43] = sriov.sriovEnabled ? 1 : 0
        b.put32(Offset.sriovMaxGfid, sriovMaxGfid)
        b.put64(Offset.fbLength, fbLength)
        b.put32(Offset.fbBusWidth, fbBusWidth)
        b.put32(Offset.fbRamType, fbRamType)
        b.put32(Offset.l2CacheSize, l2CacheSize)
        b.putBytes(Offset.gpuNameString, Array(gpuName.utf8), limit: 0x3F)
        b.putBytes(Offset.gpuShortNameString, Array(gpuShortName.utf8), limit: 0x3F)
        b[Offset.bIsVgx] = isVgx ? 1 : 0
        b[Offset.bIsTesla] = isTesla ? 1 : 0
        b[Offset.bIsMigSupported] = isMigSupported ? 1 : 0
        b.put32(Offset.vbiosSubVendor, vbiosSubVendor)
        b.put32(Offset.vbiosSubDevice, vbiosSubDevice)
        b.put32(Offset.hInternalClient, hInternalClient)
        b.put32(Offset.hInternalDevice, hInternalDevice)
        b.put32(Offset.hInternalSubdevice, hInternalSubdevice)
        return b
    }

    /// Decodes a payload of exactly ``size`` bytes.
    public init(decoding b: [UInt8]) throws(VGPUPayloadError) {
        guard b.count == Self.size else {
            throw VGPUPayloadError(offset: 0, "GspStaticConfigInfo is \(b.count) bytes, expected \(hex0x(Self.size))")
        }
        let fb = Offset.fbRegionInfoParams
        if b.le32(fb) > 0 {
            fbRegionBase = b.le64(fb + 8)
            fbRegionLimit = b.le64(fb + 16)
        }
        let s = Offset.sriovCaps
        sriov.totalVFs = b.le32(s)
        sriov.firstVfOffset = b.le32(s + 4)
        sriov.vfFeatureMask = b.le32(s + 8)
        sriov.firstVFBar0Address = b.le64(s + 0x10)
        sriov.firstVFBar1Address = b.le64(s + 0x18)
        sriov.firstVFBar2Address = b.le64(s + 0x20)
        sriov.bar0Size = b.le64(s + 0x28)
        sriov.bar1Size = b.le64(s + 0x30)
        sriov.bar2Size = b.le64(s + 0x38)
        sriov.b64bitBar0 = b[s + 0x40] != 0
        sriov.b64bitBar1 = b[s + 0x41] != 0
        sriov.b64bitBar2 = b[s + 0x42] != 0
        sriov.sriovEnabled = b[s + 0x43] != 0
        sriovMaxGfid = b.le32(Offset.sriovMaxGfid)
        fbLength = b.le64(Offset.fbLength)
        fbBusWidth = b.le32(Offset.fbBusWidth)
        fbRamType = b.le32(Offset.fbRamType)
        l2CacheSize = b.le32(Offset.l2CacheSize)
        gpuName = b.cString(Offset.gpuNameString, 0x40)
        gpuShortName = b.cString(Offset.gpuShortNameString, 0x40)
        isVgx = b[Offset.bIsVgx] != 0
        isTesla = b[Offset.bIsTesla] != 0
        isMigSupported = b[Offset.bIsMigSupported] != 0
        vbiosSubVendor = b.le32(Offset.vbiosSubVendor)
        vbiosSubDevice = b.le32(Offset.vbiosSubDevice)
        hInternalClient = b.le32(Offset.hInternalClient)
        hInternalDevice = b.le32(Offset.hInternalDevice)
        hInternalSubdevice = b.le32(Offset.hInternalSubdevice)
    }
}
