import Foundation
import HostKit

/// One EGM region with what a guest hand-off needs to know about it.
public struct EGMRegionReport: Sendable, Encodable {
    public var pxm: Int
    /// `/dev/egm<pxm>` as the host sees it (under the root).
    public var device: String
    /// `egm_size` in bytes.
    public var size: UInt64
    /// The GPUs on the region's socket.
    public var gpus: [String]
    /// The retired pages; nil when they were not read (see `retiredPagesError`).
    public var retiredPages: [EGMRetiredPage]?
    /// Why the retired pages could not be read.
    public var retiredPagesError: String?
    /// Processes holding the device open (a running VM).
    public var heldBy: [VFIOHolder]

    enum CodingKeys: String, CodingKey {
        case pxm, device, size, gpus, retiredPageCount, retiredPages, retiredPagesError, heldBy
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(pxm, forKey: .pxm)
        try c.encode(device, forKey: .device)
        try c.encode(size, forKey: .size)
        try c.encode(gpus, forKey: .gpus)
        try c.encode(retiredPages?.count, forKey: .retiredPageCount)  // null when unknown
        try c.encode(retiredPages, forKey: .retiredPages)
        try c.encode(retiredPagesError, forKey: .retiredPagesError)
        try c.encode(heldBy, forKey: .heldBy)
    }
}

/// EGM regions (`sys/class/egm`) with their retired pages.
public enum EGMRegions {
    /// Every region of the host. With `readRetiredPages`, asks `source` for each region's
    /// retired pages (on a real host that opens `/dev/egm<pxm>`, which the driver answers by
    /// zero-filling the region; a region a process holds is not opened).
    public static func report(root: HostRoot, source: any EGMRetiredPagesSource, readRetiredPages: Bool)
        -> [EGMRegionReport]
    {
        let sysfs = SysfsReader(root: root)
        return Inventory.egmRegions(sysfs).map { r in
            var rep = EGMRegionReport(
                pxm: r.pxm, device: root.url("dev/egm\(r.pxm)"), size: r.size, gpus: r.gpus,
                retiredPages: nil, retiredPagesError: nil,
                heldBy: sysfs.holders(of: ["/dev/egm\(r.pxm)"]))
            if let h = rep.heldBy.first {
                rep.retiredPagesError =
                    "held by pid \(h.pid) (\(h.command)); the EGM driver lets one process open a region at a time"
            } else if readRetiredPages {
                do throws(HostKitError) { rep.retiredPages = try source.retiredPages(pxm: r.pxm) } catch {
                    rep.retiredPagesError = error.message
                }
            } else {
                rep.retiredPagesError = "not read"
            }
            return rep
        }
    }

    /// `0x1a2b0000, 0x3c4d0000`, at most `limit` offsets, then "and N more".
    public static func describeOffsets(_ pages: [EGMRetiredPage], limit: Int = 16) -> String {
        let shown = pages.prefix(limit).map { "0x" + String($0.offset, radix: 16) }.joined(separator: ", ")
        return pages.count > limit ? shown + " and \(pages.count - limit) more" : shown
    }

    /// `400 GiB`, `64 KiB`, or bytes when not a whole number of KiB.
    public static func humanSize(_ bytes: UInt64) -> String {
        let units: [(UInt64, String)] = [(1 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")]
        for (u, name) in units where bytes >= u && bytes % u == 0 { return "\(bytes / u) \(name)" }
        for (u, name) in units where bytes >= u { return String(format: "%.1f %@", Double(bytes) / Double(u), name) }
        return "\(bytes) B"
    }
}
