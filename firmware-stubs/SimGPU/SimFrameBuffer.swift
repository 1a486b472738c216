import Foundation
import HostKit
import SystemPackage

/// A simulated GPU's frame buffer: what guests wrote into it, kept in one sparse file per PF
/// (`.vgpuctl-sim-fb/<PF>.fb`, byte offset = frame-buffer offset). Bytes never written read as
/// zero, as a hole does; the file grows only as far as the highest byte written, so a 141 GB
/// frame buffer costs what the guests wrote.
///
/// A guest writes through its VF's window (``write(_:at:)``); the firmware's scrub
/// (`SCRUB_GUEST_FB` in the GMC API: the copy engine fills the VF's region with zeros) is
/// ``zero(offset:length:progress:)``, which visits only the file's data extents
/// (`lseek(SEEK_DATA/SEEK_HOLE)`) and writes zeros over them.
public struct SimFrameBuffer {
    public let root: HostRoot
    public let pf: PCIAddress
    public static let directory = ".vgpuctl-sim-fb"
    /// Bytes zeroed per write (and per progress report).
    public static let chunk = 1 << 20

    public init(root: HostRoot, pf: PCIAddress) {
        self.root = root
        self.pf = pf
    }

    /// The file, absolute.
    public var path: String { root.url("\(Self.directory)/\(pf).fb") }

    /// Writes `bytes` at frame-buffer offset `offset` (what a guest's stores through BAR1 do).
    public func write(_ bytes: [UInt8], at offset: UInt64) throws(SimGPUError) {
        do {
            try FileManager.default.createDirectory(atPath: root.url(Self.directory), withIntermediateDirectories: true)
        } catch {
            throw .failed(.frameBuffer, "cannot create \(root.url(Self.directory)): \(error)", underlying: error)
        }
        let fd = try Self.call("open", path, "cannot open \(path)") {
            open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        }
        defer { close(fd) }
        let n = try Self.call("pwrite", path, "cannot write \(bytes.count) bytes at \(offset) of \(path)") {
            bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(offset)) }
        }
        guard n == bytes.count else {
            throw .failed(.frameBuffer, "cannot write \(bytes.count) bytes at \(offset) of \(path): wrote \(n)")
        }
    }

    /// `count` bytes at `offset` (zeros where nothing was written).
    public func read(at offset: UInt64, count: Int) throws(SimGPUError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        guard let fd = try Self.openUnlessMissing(path, O_RDONLY | O_CLOEXEC) else { return out }
        defer { close(fd) }
        _ = try Self.call("pread", path, "cannot read \(path)") {
            out.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(offset)) }
        }
        return out
    }

    /// Linux `SEEK_DATA` and `SEEK_HOLE` (`include/uapi/linux/fs.h`).
    package static let seekData: Int32 = 3
    package static let seekHole: Int32 = 4

    /// Fills `[offset, offset + length)` with zeros; returns the bytes that held data and were
    /// zeroed. `progress` gets (bytes done, bytes of the region) after each chunk.
    @discardableResult
    public func zero(offset: UInt64, length: UInt64, progress: (UInt64, UInt64) -> Void = { _, _ in })
        throws(SimGPUError)
        -> UInt64
    {
        guard let fd = try Self.openUnlessMissing(path, O_RDWR | O_CLOEXEC) else {
            progress(length, length)
            return 0
        }
        defer { close(fd) }
        var st = stat()
        _ = try Self.call("fstat", path, "cannot stat \(path)") { fstat(fd, &st) }
        let end = min(offset + length, UInt64(st.st_size))
        let zeros = [UInt8](repeating: 0, count: Self.chunk)
        var at = offset
        var zeroed: UInt64 = 0
        while at < end {
            let data: off_t
            do throws(SystemCallError) {
                data = try systemCall("lseek", path: path) { lseek(fd, off_t(at), Self.seekData) }
            } catch {
                // ENXIO: no data after `at`; any other error leaves the region unscrubbed.
                guard error.errno.rawValue == ENXIO else {
                    throw .failed(
                        .frameBuffer,
                        "cannot find data at \(at) of \(path) (lseek SEEK_DATA): errno \(error.errno.rawValue); the region is not scrubbed",
                        error)
                }
                break
            }
            let dataStart = UInt64(data)
            if dataStart >= end { break }
            let hole = try Self.call(
                "lseek", path,
                "cannot find the end of data at \(dataStart) of \(path) (lseek SEEK_HOLE)",
                then: "; the region is not scrubbed"
            ) { lseek(fd, off_t(dataStart), Self.seekHole) }
            let dataEnd = min(UInt64(hole), end)
            var p = dataStart
            while p < dataEnd {
                let n = Int(min(UInt64(Self.chunk), dataEnd - p))
                let w = try Self.call("pwrite", path, "cannot zero \(n) bytes at \(p) of \(path)") {
                    zeros.withUnsafeBytes { pwrite(fd, $0.baseAddress, n, off_t(p)) }
                }
                guard w == n else {
                    throw .failed(.frameBuffer, "cannot zero \(n) bytes at \(p) of \(path): wrote \(w)")
                }
                p += UInt64(n)
                zeroed += UInt64(n)
                progress(p - offset, length)
            }
            at = dataEnd
        }
        _ = try Self.call("fsync", path, "cannot sync \(path)") { fsync(fd) }
        progress(length, length)
        return zeroed
    }

    /// Runs system call `body` through HostKit's helper (retried on `EINTR`); a failure is
    /// "`message`: errno N`then`" with the call, errno and path kept underneath.
    static func call<T: FixedWidthInteger>(
        _ name: String, _ path: String, _ message: String, then: String = "", _ body: () -> T
    ) throws(SimGPUError) -> T {
        do throws(SystemCallError) { return try systemCall(name, path: path, body) } catch {
            throw .failed(.frameBuffer, "\(message): errno \(error.errno.rawValue)\(then)", error)
        }
    }

    /// `open(2)` of `path`, or nil when it does not exist.
    static func openUnlessMissing(_ path: String, _ flags: Int32) throws(SimGPUError) -> Int32? {
        do throws(SystemCallError) { return try systemCall("open", path: path) { open(path, flags) } } catch {
            if error.errno == .noSuchFileOrDirectory { return nil }
            throw .failed(.frameBuffer, "cannot open \(path): errno \(error.errno.rawValue)", error)
        }
    }
}
