import Foundation
import HostKit

/// Progress on a terminal's stderr: one line, rewritten in place every 200 ms while a phase
/// lasts, saying what is being waited for and for how long ("vgpuctl: waiting for ... (2.4 s,
/// 5.1 s in all)"); when a phase ends the one around it shows again, and the line is cleared
/// when the outermost ends.
final class TerminalProgress: ProgressReporter, @unchecked Sendable {
    private let lock = NSLock()
    private let fd: Int32
    /// Open phases, innermost last, with their start.
    private var phases: [(what: String, start: ContinuousClock.Instant)] = []
    private var firstStart: ContinuousClock.Instant?
    /// Redraws the line while a phase is open; started with the first phase, it lives as long as
    /// the process (a CLI run).
    private var ticker: Thread?

    init(fd: Int32 = STDERR_FILENO) { self.fd = fd }

    /// What a command with `--json` (or not) shows: this on a terminal's stderr, nothing
    /// otherwise (a pipe, a file, a journal, or JSON output).
    static func forStderr(json: Bool) -> any ProgressReporter {
        if json || isatty(STDERR_FILENO) != 1 { return SilentProgress() }
        return TerminalProgress()
    }

    func begin(_ what: String) {
        lock.lock()
        let now = ContinuousClock.now
        phases.append((what, now))
        if firstStart == nil { firstStart = now }
        if ticker == nil {
            let t = Thread { self.tick() }
            t.name = "vgpuctl-progress"
            ticker = t
            t.start()
        }
        render()
        lock.unlock()
    }

    func end() {
        lock.lock()
        if !phases.isEmpty { phases.removeLast() }
        if phases.isEmpty { emit("\r\u{1B}[K") } else { render() }
        lock.unlock()
    }

    private func tick() {
        while true {
            Thread.sleep(forTimeInterval: 0.2)
            lock.lock()
            if !phases.isEmpty { render() }
            lock.unlock()
        }
    }

    /// Call with the lock held.
    private func render() {
        guard let phase = phases.last else { return }
        let now = ContinuousClock.now
        var line = "\r\u{1B}[Kvgpuctl: \(phase.what) (\(Self.seconds(now - phase.start))"
        if let first = firstStart, now - first > now - phase.start + .milliseconds(50) {
            line += ", \(Self.seconds(now - first)) in all"
        }
        emit(line + ")")
    }

    private func emit(_ text: String) {
        text.utf8CString.withUnsafeBufferPointer { b in
            _ = write(fd, b.baseAddress, b.count - 1)
        }
    }

    static func seconds(_ d: Duration) -> String {
        let c = d.components
        let s = Double(c.seconds) + Double(c.attoseconds) / 1e18
        return String(format: "%.1f s", s)
    }
}
