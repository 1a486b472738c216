import CGSPMessaging

/// A wake-up channel between the two processes: a counter in shared memory that the notifier
/// increments and the waiter sleeps on with `futex(FUTEX_WAIT)`, plus a count of sleeping
/// waiters so that a notifier only makes the `FUTEX_WAKE` system call when someone sleeps.
///
/// The waiter reads the counter, checks its condition, registers, checks again, and only then
/// sleeps on the counter value it read first; the notifier publishes its data (release),
/// increments the counter, and reads the waiter count after a full fence. Either the waiter's
/// second check sees the data, or the notifier sees the waiter and wakes it, or the futex
/// finds the counter changed and returns at once: no lost wake-up, no busy loop.
public struct Doorbell {
    let word: UnsafeMutablePointer<UInt32>
    let waiters: UnsafeMutablePointer<UInt32>

    /// Rings: wakes the other side if it sleeps.
    public func ring() {
        _ = vgpuctl_fetch_add_u32(word, 1)
        vgpuctl_fence_seq_cst()
        if vgpuctl_load_acquire_u32(waiters) != 0 {
            _ = vgpuctl_futex_wake(word, Int32.max)
        }
    }

    /// Waits until `condition()` holds or `until` passes, spinning up to `spin` checks first
    /// (a short spin keeps round trips fast when the peer answers within microseconds; the
    /// sleep takes over when it does not). Returns whether the condition holds.
    public func wait(until: ContinuousClock.Instant, spin: Int, _ condition: () -> Bool) -> Bool {
        var i = 0
        while i < spin {
            if condition() { return true }
            vgpuctl_cpu_relax()
            i += 1
        }
        while true {
            let seen = vgpuctl_load_acquire_u32(word)
            if condition() { return true }
            _ = vgpuctl_fetch_add_u32(waiters, 1)
            vgpuctl_fence_seq_cst()
            if condition() {
                _ = vgpuctl_fetch_sub_u32(waiters, 1)
                return true
            }
            let now = ContinuousClock.now
            if now >= until {
                _ = vgpuctl_fetch_sub_u32(waiters, 1)
                return condition()
            }
            let (s, atto) = now.duration(to: until).components
            let ns = s >= Int64.max / 1_000_000_000 ? Int64.max : s * 1_000_000_000 + atto / 1_000_000_000
            _ = vgpuctl_futex_wait(word, seen, max(ns, 1))
            _ = vgpuctl_fetch_sub_u32(waiters, 1)
        }
    }
}
