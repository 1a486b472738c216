#if os(Linux)
    import Glibc
    import SystemPackage

    /// An inotify watch on directories (`inotify_init1`, `inotify_add_watch`, `read`), for
    /// long-running watchers that wait on files without polling.
    ///
    /// Not thread-safe: one thread waits in ``next(timeoutMilliseconds:)`` at a time. The
    /// descriptor is closed when the watch is released.
    public final class InotifyWatch {
        /// One event: the watched directory (as given to ``add(_:mask:)``), the file name within it
        /// (empty for the directory itself) and the mask (`IN_CREATE`, `IN_DELETE`, ...).
        public struct Event: Sendable, Equatable {
            public var directory: String
            public var name: String
            public var mask: UInt32
        }

        let fd: Int32
        var directories: [Int32: String] = [:]

        /// `inotify_init1(IN_CLOEXEC | IN_NONBLOCK)`.
        public init() throws(VGPUError) {
            do throws(SystemCallError) {
                fd = try systemCall("inotify_init1") { inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK)) }
            } catch {
                throw .failed(.inotify, "inotify_init1 failed: \(error.errno)", error)
            }
        }

        deinit { close(fd) }

        /// `inotify_add_watch(dir, mask)`; the directory must exist.
        public func add(_ directory: String, mask: UInt32) throws(VGPUError) {
            let wd: Int32
            do throws(SystemCallError) {
                wd = try systemCall("inotify_add_watch", path: directory) { inotify_add_watch(fd, directory, mask) }
            } catch {
                throw .failed(.inotify, "cannot watch \(directory) (inotify_add_watch): \(error.errno)", error)
            }
            directories[wd] = directory
        }

        /// The events that arrive within `timeoutMilliseconds` (-1: wait until one arrives), in order;
        /// empty when the time passed with none.
        public func next(timeoutMilliseconds: Int32) throws(VGPUError) -> [Event] {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let n: Int32
            do throws(SystemCallError) {
                // Retried on EINTR with the time left, not the whole timeout again.
                let clock = ContinuousClock()
                let deadline = clock.now + .milliseconds(max(timeoutMilliseconds, 0))
                n = try systemCall("poll") {
                    let left = timeoutMilliseconds < 0 ? -1 : DeadlinePoll.milliseconds(until: deadline, now: clock.now)
                    return poll(&p, 1, left)
                }
            } catch {
                throw .failed(.inotify, "poll on the inotify descriptor failed: \(error.errno)", error)
            }
            if n == 0 { return [] }
            var buffer = [UInt8](repeating: 0, count: 16384)
            let got: Int
            do throws(SystemCallError) {
                got = try systemCall("read") { buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) } }
            } catch {
                if error.errno == .resourceTemporarilyUnavailable { return [] }
                throw .failed(.inotify, "read from the inotify descriptor failed: \(error.errno)", error)
            }
            return Self.parse(Array(buffer[0..<got]), directories: directories)
        }

        /// Splits a buffer of `struct inotify_event` records (wd, mask, cookie, len, name[len]).
        static func parse(_ bytes: [UInt8], directories: [Int32: String]) -> [Event] {
            var out: [Event] = []
            var i = 0
            let header = 16
            while i + header <= bytes.count {
                func u32(_ o: Int) -> UInt32 {
                    UInt32(bytes[i + o]) | UInt32(bytes[i + o + 1]) << 8 | UInt32(bytes[i + o + 2]) << 16 | UInt32(
                        bytes[i + o + 3]) << 24
                }
                let wd = Int32(bitPattern: u32(0))
                let mask = u32(4)
                let len = Int(u32(12))
                let end = min(bytes.count, i + header + len)
                let nameBytes = bytes[(i + header)..<end].prefix { $0 != 0 }
                out.append(
                    Event(
                        directory: directories[wd] ?? "", name: String(decoding: nameBytes, as: UTF8.self), mask: mask))
                i += header + len
            }
            return out
        }
    }
#endif
