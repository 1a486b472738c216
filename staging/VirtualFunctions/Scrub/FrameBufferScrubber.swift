import Foundation
import HostKit

/// Stage 3's frame-buffer scrub as vgpuctl sees it: when a VF's vGPU goes, the region of the
/// GPU's frame buffer it had still holds the tenant's data until the firmware overwrites it
/// (GMC API `SCRUB_GUEST_FB`, which the stage-3 driver issues with a copy-engine utility it
/// allocated with `VGPU_MGR_ALLOC_GSP_CEUTILS`). A VF whose scrub has not finished is *scrub
/// pending* and must not get a type again: that is how no VF is handed to a second tenant with
/// the first tenant's data.
///
/// The protocol is owned here and implemented at the CLI edge: a simulated host's scrubber
/// drives the simulated firmware's frame buffer; on a real host the driver scrubs by itself
/// and reports nothing vgpuctl could read yet, so no scrubber is wired (ROADMAP.md, stage 3).
public protocol FrameBufferScrubber {
    /// The VFs of `pf` whose released region is not scrubbed yet.
    func pending(pf: PCIAddress) throws(VirtualFunctionsError) -> [ScrubRegion]

    /// Scrubs the pending regions of `pf` (only VF `vf`'s when given); `progress` gets each
    /// step. Returns what was scrubbed.
    func scrub(pf: PCIAddress, vf: Int?, progress: (ScrubProgress) -> Void) throws(VirtualFunctionsError)
        -> [ScrubReport]
}

/// The scrubber of a PF's GPU (nil: none vgpuctl can drive).
public typealias ScrubberFactory = (PCIAddress) -> (any FrameBufferScrubber)?

/// A released region of a VF waiting for its scrub.
public struct ScrubRegion: Sendable, Equatable, Codable {
    public var vf: Int
    /// The type the VF carried.
    public var type: String
    public var offsetMiB: Int
    public var sizeMiB: Int

    public init(vf: Int, type: String, offsetMiB: Int, sizeMiB: Int) {
        self.vf = vf
        self.type = type
        self.offsetMiB = offsetMiB
        self.sizeMiB = sizeMiB
    }

    public var description: String { "\(sizeMiB) MiB at \(offsetMiB) MiB (left by \(type) on VF \(vf))" }
}

/// Progress of one region's scrub.
public struct ScrubProgress: Sendable, Equatable {
    public var vf: Int
    public var done: UInt64
    public var total: UInt64
    public init(vf: Int, done: UInt64, total: UInt64) {
        self.vf = vf
        self.done = done
        self.total = total
    }
}

/// One finished scrub.
public struct ScrubReport: Sendable, Equatable, Codable {
    public var pf: String
    public var region: ScrubRegion
    /// Bytes the tenant had written that were overwritten with zeros.
    public var bytesZeroed: UInt64

    public init(pf: String, region: ScrubRegion, bytesZeroed: UInt64) {
        self.pf = pf
        self.region = region
        self.bytesZeroed = bytesZeroed
    }

    /// `scrubbed 20480 MiB at 0 MiB (left by H100XM-20C on VF 0) of 0000:18:00.0`.
    public var text: String { "scrubbed \(region.description) of \(pf)" }
}
