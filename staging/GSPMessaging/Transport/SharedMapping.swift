import HostKit
import SystemPackage

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A file mapped `MAP_SHARED` into this process: the memory the driver side and the firmware
/// stub share (`open(2)`, `ftruncate(2)`, `mmap(2)`, `munmap(2)`, `flock(2)`).
///
/// Both processes map the same file, so stores by one are visible to the other through the
/// page cache; ordering between them comes from the acquire/release accessors in
/// ``ControlPage`` and ``QueueRing``.
public final class SharedMapping {
    /// The mapped file.
    public let path: String
    /// Start of the mapping.
    public let base: UnsafeMutableRawPointer
    /// Bytes mapped.
    public let size: Int
    private let fd: Int32

    private init(path: String, fd: Int32, size: Int) throws(GSPMessagingError) {
        guard let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), p != MAP_FAILED else {
            let e = Errno(rawValue: errno)
            close(fd)
            throw .failed(
                .sharedFile,
                "cannot map \(path) (\(size) bytes): mmap failed: \(e)", SystemCallError("mmap", errno: e, path: path))
        }
        self.path = path
        self.fd = fd
        self.base = p
        self.size = size
    }

    deinit {
        munmap(base, size)
        close(fd)
    }

    /// Creates (or truncates and re-creates) `path` with `size` zero bytes and maps it.
    public static func create(path: String, size: Int = GspMemLayout.sharedFileSize) throws(GSPMessagingError)
        -> SharedMapping
    {
        unlink(path)
        let fd: Int32
        do throws(SystemCallError) {
            fd = try systemCall("open", path: path) { Glibc.open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600) }
        } catch {
            throw .failed(.sharedFile, "cannot create the shared GSP memory file \(path): \(error.errno)", error)
        }
        do throws(SystemCallError) { _ = try systemCall("ftruncate", path: path) { ftruncate(fd, off_t(size)) } } catch
        {
            close(fd)
            throw .failed(.sharedFile, "cannot size \(path) to \(size) bytes: \(error.errno)", error)
        }
        return try SharedMapping(path: path, fd: fd, size: size)
    }

    /// Maps an existing file, which must be at least `minimumSize` bytes.
    public static func open(path: String, minimumSize: Int = GspMemLayout.sharedFileSize) throws(GSPMessagingError)
        -> SharedMapping
    {
        let fd: Int32
        do throws(SystemCallError) {
            fd = try systemCall("open", path: path) { Glibc.open(path, O_RDWR | O_CLOEXEC) }
        } catch {
            throw .failed(.sharedFile, "cannot open the shared GSP memory file \(path): \(error.errno)", error)
        }
        var st = stat()
        do throws(SystemCallError) { _ = try systemCall("fstat", path: path) { fstat(fd, &st) } } catch {
            close(fd)
            throw .failed(.sharedFile, "cannot stat \(path): \(error.errno)", error)
        }
        guard Int(st.st_size) >= minimumSize else {
            close(fd)
            throw .failed(.sharedFile, "\(path) is \(st.st_size) bytes; a GSP shared file needs \(minimumSize)")
        }
        return try SharedMapping(path: path, fd: fd, size: Int(st.st_size))
    }

    /// Whether the file has been deleted since it was mapped (its link count is 0).
    public var isUnlinked: Bool {
        var st = stat()
        return fstat(fd, &st) == 0 && st.st_nlink == 0
    }

    /// Takes the driver-side lock (`flock(LOCK_EX)`) so that one vgpuctl process at a time
    /// talks on the queues; waits until `deadline`, rechecking every 10 ms.
    public func lockExclusive(until deadline: ContinuousClock.Instant) throws(GSPMessagingError) {
        while true {
            // EINTR is retried by the helper; EWOULDBLOCK: another holder, wait and look again.
            do throws(SystemCallError) {
                _ = try systemCall("flock", path: path) { flock(fd, LOCK_EX | LOCK_NB) }
                return
            } catch {
                guard error.errno == .wouldBlock else {
                    throw .failed(.locked, "cannot lock \(path): \(error.errno)", error)
                }
            }
            if ContinuousClock.now >= deadline {
                throw .refused(
                    .locked,
                    "another vgpuctl process is talking to the GSP through \(path); try again when it has finished")
            }
            usleep(10_000)
        }
    }

    /// Releases the driver-side lock.
    public func unlock() { flock(fd, LOCK_UN) }

    /// A pointer to the `UInt32` at `offset`.
    @inlinable public func u32(_ offset: Int) -> UnsafeMutablePointer<UInt32> {
        (base + offset).assumingMemoryBound(to: UInt32.self)
    }

    /// Copies `count` bytes at `offset` out.
    public func bytes(_ offset: Int, _ count: Int) -> [UInt8] {
        [UInt8](UnsafeRawBufferPointer(start: base + offset, count: count))
    }

    /// Copies `bytes` in at `offset`.
    public func write(_ offset: Int, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes {
            UnsafeMutableRawBufferPointer(start: base + offset, count: $0.count).copyMemory(from: $0)
        }
    }
}
