#if os(Linux)
    #if canImport(Glibc)
        import Glibc
    #elseif canImport(Musl)
        import Musl
    #endif
    import SystemPackage

    /// `poll(2)` on one descriptor against a `ContinuousClock` deadline, shared by the udev monitor
    /// and the uevent socket.
    enum DeadlinePoll {
        /// Waits until `fd` is readable (or has an error pending) or `deadline` passes, whichever
        /// comes first; with `cap`, returns after at most that long. Retries on `EINTR`. A deadline
        /// in the past still checks once, without waiting, so queued data is not missed.
        ///
        /// Returns true when `fd` is readable (`POLLIN`) or has an error (`POLLERR`, `POLLHUP`).
        static func waitReadable(
            fd: Int32, until deadline: ContinuousClock.Instant,
            cap: Duration? = nil
        ) throws(Errno) -> Bool {
            let clock = ContinuousClock()
            let wakeAt = cap.map { min(deadline, clock.now + $0) } ?? deadline
            while true {
                // Retried on EINTR with the time left, not the whole timeout again.
                let n: Int32
                do throws(SystemCallError) {
                    n = try systemCall("poll") {
                        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                        return poll(&pfd, 1, milliseconds(until: wakeAt, now: clock.now))
                    }
                } catch {
                    throw error.errno
                }
                if n > 0 { return true }
                // poll rounds to whole milliseconds; only report a timeout once it is real.
                if clock.now >= wakeAt { return false }
            }
        }

        /// Milliseconds from `now` to `instant`, rounded up, clamped to `0...Int32.max`.
        static func milliseconds(until instant: ContinuousClock.Instant, now: ContinuousClock.Instant) -> Int32 {
            let remaining = now.duration(to: instant)
            if remaining <= .zero { return 0 }
            let (seconds, attoseconds) = remaining.components
            let ms = seconds.multipliedReportingOverflow(by: 1000)
            if ms.overflow { return Int32.max }
            let extra = (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
            return Int32(clamping: ms.partialValue + extra)
        }

        /// `0.5 s`, `5 s`, `2.25 s`: a duration for an operator's message.
        static func seconds(_ d: Duration) -> String {
            let (s, atto) = d.components
            let hundredths = (atto + 5_000_000_000_000_000) / 10_000_000_000_000_000
            var whole = s
            var frac = hundredths
            if frac >= 100 {
                whole += 1
                frac -= 100
            }
            if frac == 0 { return "\(whole) s" }
            var digits = frac < 10 ? "0\(frac)" : "\(frac)"
            while digits.hasSuffix("0") { digits.removeLast() }
            return "\(whole).\(digits) s"
        }
    }
#endif
