import Foundation

/// A kernel that appends one line per control-file write (`path<TAB>value<TAB>result`) to a log
/// file, then forwards the write. Enabled by `VGPUCTL_WRITE_LOG=FILE`: the benchmarks count the
/// writes an apply makes (a converged apply must make none), and operators can see exactly what
/// vgpuctl wrote.
public struct LoggingKernel: Kernel {
    public let next: any Kernel
    public let logPath: String

    public init(forwardingTo next: any Kernel, logPath: String) {
        self.next = next
        self.logPath = logPath
    }

    public func write(_ value: String, to file: ControlFile) throws(KernelError) {
        var result = "ok"
        defer { append("\(file.path)\t\(value)\t\(result)\n") }
        do { try next.write(value, to: file) } catch {
            result = "\(error.errno)"
            throw error
        }
    }

    func append(_ line: String) {
        let fd = retryingOnEINTR { open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644) }
        guard fd >= 0 else { return }
        _ = line.utf8CString.withUnsafeBufferPointer { b in
            retryingOnEINTR { Glibc.write(fd, b.baseAddress, b.count - 1) }
        }
        close(fd)
    }
}
