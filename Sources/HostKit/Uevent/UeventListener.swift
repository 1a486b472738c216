#if os(Linux)
    /// Listens for kernel uevents and waits for expected ones (VFs appearing after `sriov_numvfs` is
    /// written, a device binding to `vfio-pci`, ...).
    ///
    /// Order matters: **open the listener, then trigger the action, then wait.** The kernel
    /// broadcasts each uevent once, to the sockets bound at that moment; an event sent before the
    /// listener exists is never seen.
    ///
    /// ```swift
    /// let listener = try UeventListener()                       // 1. open
    /// try kernel.write("4", to: .sriovNumVFs(pf))               // 2. trigger
    /// let events = try listener.waitFor(vfs.map(UeventMatch.pciAdd),
    ///                                   deadline: .now + .seconds(10))   // 3. wait
    /// ```
    ///
    /// Not thread-safe: use one listener from one thread at a time. The socket (and its
    /// descriptor) is closed when the listener is released.
    public final class UeventListener {
        /// Where the datagrams come from: a ``NetlinkUeventSocket`` unless a test supplied a source.
        public let source: any UeventSource

        /// Opens a ``NetlinkUeventSocket`` (libmnl, `NETLINK_KOBJECT_UEVENT`, group 1, 8 MiB receive
        /// buffer).
        public convenience init() throws(VGPUError) {
            self.init(source: try NetlinkUeventSocket())
        }

        /// Listens on `source` (a scripted source in tests).
        public init(source: any UeventSource) {
            self.source = source
        }

        /// The next kernel uevent, or nil once `deadline` passes.
        ///
        /// Datagrams that ``Uevent/parse(_:)`` rejects (udevd's `libudev` messages, garbage) are
        /// skipped. A deadline in the past still returns an event that is already queued.
        public func next(deadline: ContinuousClock.Instant) throws(VGPUError) -> Uevent? {
            while true {
                guard let bytes = try source.receive(deadline: deadline) else { return nil }
                if let event = Uevent.parse(bytes) { return event }
            }
        }

        /// Receives uevents until every match in `matches` has been satisfied, and returns, for each
        /// match in order, the first event that satisfied it. One event may satisfy several matches.
        ///
        /// Throws a failed-operation error at `deadline` that lists the events that never arrived
        /// (and those that did), or when the kernel reports that events were dropped.
        public func waitFor(_ matches: [UeventMatch], deadline: ContinuousClock.Instant) throws(VGPUError) -> [Uevent] {
            let started = ContinuousClock.now
            var found = [Uevent?](repeating: nil, count: matches.count)
            var missing = matches.count
            var others = 0
            while missing > 0 {
                guard let event = try next(deadline: deadline) else {
                    throw Self.timeout(
                        matches: matches, found: found, others: others,
                        waited: started.duration(to: .now))
                }
                var used = false
                for (i, match) in matches.enumerated() where found[i] == nil && match.matches(event) {
                    found[i] = event
                    missing -= 1
                    used = true
                }
                if !used { others += 1 }
            }
            return found.compactMap { $0 }
        }

        static func timeout(matches: [UeventMatch], found: [Uevent?], others: Int, waited: Duration) -> VGPUError {
            let never = zip(matches, found).filter { $0.1 == nil }.map(\.0.description)
            let arrived = zip(matches, found).filter { $0.1 != nil }.map(\.0.description)
            var message =
                "timed out after \(DeadlinePoll.seconds(waited)) waiting for kernel uevents; "
                + "never arrived: \(never.joined(separator: ", "))"
            if !arrived.isEmpty { message += "; arrived: \(arrived.joined(separator: ", "))" }
            message +=
                "; \(others) other uevent\(others == 1 ? "" : "s") received. "
                + "Check that the listener was opened before the action was triggered, and 'dmesg' for errors from the driver"
            return .failed(
                .uevent,
                message, cause: "uevent wait deadline passed with \(never.count) of \(matches.count) events missing")
        }
    }
#endif
