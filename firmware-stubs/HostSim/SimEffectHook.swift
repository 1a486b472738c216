import Foundation
import Glibc

/// Counts the effects a process runs and ends it with SIGKILL at a chosen one: how the crash
/// tests kill a writer inside a simulated kernel write, at a point they can name.
public final class SimEffectHook: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    public let killAt: Int

    public init(killAt: Int) { self.killAt = killAt }

    func tick() {
        let n = lock.withLock {
            count += 1
            return count
        }
        if n == killAt { kill(getpid(), SIGKILL) }
    }
}
