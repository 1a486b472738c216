import Glibc
import SystemPackage

/// A failed system call: which call, the `errno` it set, and the path it was about (in the
/// style of swift-nio's `FileSystemError`, with swift-system's ``Errno``).
///
/// Layers above keep it as the underlying error of their own (``VGPUError/underlying``) and
/// write a sentence for the operator; the errno is never replaced by its text.
public struct SystemCallError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The C call, as it is spelled in its manual page (`open`, `flock`, `inotify_add_watch`).
    public var call: String
    /// What the call set `errno` to (captured right after the call).
    public var errno: Errno
    /// The file or socket path the call was about, when there is one.
    public var path: String?

    public init(_ call: String, errno: Errno, path: String? = nil) {
        self.call = call
        self.errno = errno
        self.path = path
    }

    /// `open(/run/vgpuctl/lock): Permission denied (errno 13)`.
    public var description: String {
        "\(call)(\(path ?? "")): \(errno) (errno \(errno.rawValue))"
    }
}

/// Runs `body`, a system call that returns -1 and sets `errno` on failure, again while it fails
/// with `EINTR`; returns what it returned. The errno of a failure is read right after the call.
///
/// ```swift
/// let fd = try systemCall("open", path: p) { open(p, O_RDONLY | O_CLOEXEC) }
/// ```
public func systemCall<T: FixedWidthInteger>(_ call: String, path: String? = nil, _ body: () -> T)
    throws(SystemCallError) -> T
{
    while true {
        let r = body()
        if r != -1 { return r }
        let e = Errno(rawValue: Glibc.errno)
        if e == .interrupted { continue }
        throw SystemCallError(call, errno: e, path: path)
    }
}

/// Runs `body`, a call that returns a pointer or nil and sets `errno` on failure (`opendir(3)`,
/// `fopen(3)`), again while it fails with `EINTR`; returns the pointer.
public func systemCallReturningPointer<T>(_ call: String, path: String? = nil, _ body: () -> T?)
    throws(SystemCallError) -> T
{
    while true {
        if let r = body() { return r }
        let e = Errno(rawValue: Glibc.errno)
        if e == .interrupted { continue }
        throw SystemCallError(call, errno: e, path: path)
    }
}

/// Runs `body`, a call that returns 0 or an errno value (`posix_spawn(3)`, pthread functions),
/// again while it returns `EINTR`.
public func systemCallReturningErrno(_ call: String, path: String? = nil, _ body: () -> Int32)
    throws(SystemCallError)
{
    while true {
        let r = body()
        if r == 0 { return }
        if r == EINTR { continue }
        throw SystemCallError(call, errno: Errno(rawValue: r), path: path)
    }
}

/// Runs `body`, a system call that returns -1 on failure, again while it fails with `EINTR`,
/// for callers that look at `errno` themselves; returns the last result.
public func retryingOnEINTR<T: FixedWidthInteger>(_ body: () -> T) -> T {
    while true {
        let r = body()
        if r == -1 && Glibc.errno == EINTR { continue }
        return r
    }
}
