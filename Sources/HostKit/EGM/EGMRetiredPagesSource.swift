/// One retired (bad ECC) page of an EGM region, as `EGM_RETIRED_PAGES_LIST` reports it:
/// `struct egm_retired_pages_info` (offset from the region's base, size of one page).
public struct EGMRetiredPage: Sendable, Equatable, Codable {
    public var offset: UInt64
    public var size: UInt64

    public init(offset: UInt64, size: UInt64) {
        self.offset = offset
        self.size = size
    }
}

/// Where the retired pages of an EGM region come from: the EGM character device on a real host
/// (`EGMDevice` in staging/NVGraceEGM, over the RFC ioctl), the simulator's data on a simulated one.
public protocol EGMRetiredPagesSource: Sendable {
    /// The retired pages of the region with proximity domain `pxm` (`/dev/egm<pxm>`).
    func retiredPages(pxm: Int) throws(VGPUError) -> [EGMRetiredPage]
}
