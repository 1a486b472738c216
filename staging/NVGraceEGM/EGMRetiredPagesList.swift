import CEGM
import Foundation
import HostKit
import SystemPackage

// The nvgrace-egm driver's retired-pages UAPI as the RFC series defines it (not merged; see
// ROADMAP.md): the ioctl, its argsz protocol, and the real device. HostKit owns the seam
// (`EGMRetiredPagesSource`, `EGMRetiredPage`); this module implements it.

/// The `EGM_RETIRED_PAGES_LIST` ioctl (`_IO('E', 100)`, 0x4564) and its argsz protocol
/// (kernel-abi.md §3): the caller sets `argsz` to its buffer size; when that is too small for
/// the list the kernel writes the size it needs into `argsz`, sets `count` to 0 and succeeds,
/// and the caller asks again with a larger buffer.
public enum EGMRetiredPagesList {
    /// `EGM_RETIRED_PAGES_LIST`, re-exported from the C mirror.
    public static let request = UInt32(VGPUCTL_EGM_RETIRED_PAGES_LIST)
    /// `offsetofend(struct egm_retired_pages_list, count)`: `argsz` and `count`.
    public static let headerSize = MemoryLayout<egm_retired_pages_list>.size
    /// `sizeof(struct egm_retired_pages_info)`.
    public static let entrySize = MemoryLayout<egm_retired_pages_info>.size
    /// Entries the first call has room for; most regions have none or a few.
    public static let initialCapacity = 32
    /// Calls before giving up on a list that keeps growing between calls.
    public static let maxAttempts = 8
    /// The largest `argsz` vgpuctl believes (64 MiB: four million retired pages). A larger one
    /// is a driver bug, refused instead of allocated (seen while writing the fuzz target: a
    /// reply asking for 4 GiB made the protocol allocate it).
    public static let maxArgsz = 64 << 20

    /// Why the protocol failed.
    public enum Failure: Error, Equatable, Sendable {
        /// The ioctl failed with this errno.
        case errno(Errno)
        /// The kernel said it filled more entries than the buffer holds (a driver bug).
        case overflow(count: UInt32, argsz: UInt32)
        /// The list grew between every call.
        case unstable
    }

    /// Runs the argsz protocol. `ioctl` stands for one `EGM_RETIRED_PAGES_LIST` call on the
    /// given buffer (whose `argsz` is already set) and returns 0 or an errno.
    public static func query(_ ioctl: (UnsafeMutableRawBufferPointer) -> Int32) throws(Failure) -> [EGMRetiredPage] {
        var capacity = initialCapacity
        for _ in 0..<maxAttempts {
            let size = headerSize + capacity * entrySize
            var buffer = [UInt8](repeating: 0, count: size)
            let result: Int32 = buffer.withUnsafeMutableBytes { raw in
                raw.storeBytes(of: UInt32(size).littleEndian, toByteOffset: 0, as: UInt32.self)
                return ioctl(raw)
            }
            if result != 0 { throw .errno(Errno(rawValue: result)) }
            let (argsz, count, pages) = decode(buffer)
            if count == 0 && Int(argsz) > size {
                guard Int(argsz) <= maxArgsz else { throw .overflow(count: count, argsz: argsz) }
                capacity = (Int(argsz) - headerSize + entrySize - 1) / entrySize
                continue
            }
            guard headerSize + Int(count) * entrySize <= size else { throw .overflow(count: count, argsz: argsz) }
            return pages
        }
        throw .unstable
    }

    /// Decodes a filled `struct egm_retired_pages_list` (little-endian, as on arm64 and x86-64):
    /// `argsz`, `count`, and the first `count` entries that fit in `bytes`.
    public static func decode(_ bytes: [UInt8]) -> (argsz: UInt32, count: UInt32, pages: [EGMRetiredPage]) {
        func u32(_ at: Int) -> UInt32 {
            guard at + 4 <= bytes.count else { return 0 }
            return (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[at + $1]) << (8 * $1) }
        }
        func u64(_ at: Int) -> UInt64 {
            (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << (8 * $1) }
        }
        let argsz = u32(0)
        let count = u32(4)
        var pages: [EGMRetiredPage] = []
        var at = headerSize
        while pages.count < Int(count) && at + entrySize <= bytes.count {
            pages.append(EGMRetiredPage(offset: u64(at), size: u64(at + 8)))
            at += entrySize
        }
        return (argsz, count, pages)
    }
}

/// The EGM character device `/dev/egm<pxm>` of a real host (under the root), asked for its
/// retired pages with `EGM_RETIRED_PAGES_LIST`.
///
/// Opening the device is not free: the nvgrace-egm driver (RFC v2) zero-fills the whole region
/// on the first open and refuses a second opener (`EBUSY`) while a VM holds the region.
public struct EGMDevice: EGMRetiredPagesSource {
    public let root: HostRoot

    public init(root: HostRoot) { self.root = root }

    public func retiredPages(pxm: Int) throws(VGPUError) -> [EGMRetiredPage] {
        let path = root.url("dev/egm\(pxm)")
        let fd: Int32
        do throws(SystemCallError) {
            fd = try systemCall("open", path: path) { open(path, O_RDONLY | O_CLOEXEC) }
        } catch {
            throw openError(error, pxm: pxm)
        }
        defer { close(fd) }
        do {
            return try EGMRetiredPagesList.query { buffer in
                // Made again on EINTR (HostKit's helper); 0 or the errno.
                do throws(SystemCallError) {
                    try systemCallReturningErrno("ioctl") { vgpuctl_egm_retired_pages_list(fd, buffer.baseAddress) }
                    return 0
                } catch {
                    return error.errno.rawValue
                }
            }
        } catch {
            switch error {
            case .errno(let e) where e == .notPermitted || e == .permissionDenied:
                throw .failed(
                    .egmRetiredPages,
                    "EGM_RETIRED_PAGES_LIST on \(path) was refused (\(e)); run as root",
                    SystemCallError("ioctl", errno: e, path: path))
            case .errno(let e):
                throw .failed(
                    .egmRetiredPages,
                    "\(path) did not answer EGM_RETIRED_PAGES_LIST (\(e), errno \(e.rawValue)): it is not an nvgrace-egm device of the revision vgpuctl knows (RFC v2, ioctl 0x4564)",
                    SystemCallError("ioctl", errno: e, path: path))
            case .overflow(let count, let argsz):
                throw .failed(
                    .egmRetiredPages,
                    "\(path) reported \(count) retired pages, more than the \(argsz)-byte buffer holds; the EGM driver is misbehaving"
                )
            case .unstable:
                throw .failed(
                    .egmRetiredPages,
                    "the retired-page list of \(path) kept growing across \(EGMRetiredPagesList.maxAttempts) calls; try again"
                )
            }
        }
    }

    func openError(_ error: SystemCallError, pxm: Int) -> VGPUError {
        let e = error.errno
        let path = error.path ?? root.url("dev/egm\(pxm)")
        switch e {
        case .noSuchFileOrDirectory:
            return .failed(
                .egmRetiredPages,
                "\(path) does not exist: no nvgrace-egm driver has created EGM region \(pxm); check 'ls /sys/class/egm' and dmesg",
                error)
        case .permissionDenied, .notPermitted:
            return .failed(.egmRetiredPages, "cannot open \(path) (\(e)); reading EGM retired pages needs root", error)
        case .resourceBusy:
            let holders = SysfsReader(root: root).holders(of: ["/dev/egm\(pxm)"])
            let who = holders.first.map { "pid \($0.pid) (\($0.command))" } ?? "another process (a VM)"
            return .failed(
                .egmRetiredPages,
                "\(path) is held by \(who); the EGM driver lets one process open a region at a time, so its retired pages cannot be read while the VM runs",
                error)
        default:
            return .failed(.egmRetiredPages, "cannot open \(path): \(e) (errno \(e.rawValue))", error)
        }
    }
}
