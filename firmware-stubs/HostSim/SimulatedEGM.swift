import Foundation
import HostKit
import SimGPU

/// The simulated `EGM_RETIRED_PAGES_LIST`: the retired pages of a simulated host's EGM regions,
/// from the model's data in `.vgpuctl-sim.json` (`egmRetiredPages`, offsets by proximity domain).
///
/// Like the real device it needs `/dev/egm<pxm>` to exist. Each model offset is reported as one
/// page of ``pageSize`` bytes, as a kernel with 64 KiB pages (usual on Grace hosts) reports the
/// firmware's 64 KiB retired entries; a 4 KiB-page kernel would report sixteen sub-pages each.
public struct SimulatedEGM: EGMRetiredPagesSource {
    public let root: HostRoot
    /// The page size the simulated kernel reports (assumed 64 KiB, see above).
    public static let pageSize: UInt64 = 0x10000

    public init(root: HostRoot) { self.root = root }

    public func retiredPages(pxm: Int) throws(VGPUError) -> [EGMRetiredPage] {
        let device = "dev/egm\(pxm)"
        guard FileManager.default.fileExists(atPath: root.url(device)) else {
            throw .failed(
                .egmRetiredPages,
                "\(root.url(device)) does not exist: no nvgrace-egm driver has created EGM region \(pxm); check 'ls /sys/class/egm' and dmesg"
            )
        }
        // SimState.load names the file and what is wrong with it.
        let state = try VGPUError.wrapping(.egmRetiredPages) { try SimState.load(root) }
        return (state.egmRetiredPages?[String(pxm)] ?? []).sorted().map {
            EGMRetiredPage(offset: $0, size: Self.pageSize)
        }
    }
}
