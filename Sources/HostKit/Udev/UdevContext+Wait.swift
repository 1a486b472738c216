#if os(Linux)
    #if canImport(Glibc)
        import Glibc
    #elseif canImport(Musl)
        import Musl
    #endif
    import CUdev
    import SystemPackage

    extension UdevContext {
        /// How often ``waitUntilInitialized(syspath:timeout:)`` re-reads the device while no udev
        /// event arrives.
        static let initializationRecheckInterval: Duration = .milliseconds(100)

        /// Waits until systemd-udevd has finished processing the device at `syspath`, and returns a
        /// fresh snapshot of it.
        ///
        /// Finished means either of:
        /// - libudev reports the device initialized (`udev_device_get_is_initialized`: udevd wrote its
        ///   database entry, `/run/udev/data/+pci:<BDF>` for a PCI device), or
        /// - udevd broadcast an event for the device on its monitor group, which it does after running
        ///   the rules. This covers devices for which the rules store nothing (udevd writes no
        ///   database entry for a PCI device without properties, tags or links).
        ///
        /// The device is looked up (`udev_device_new_from_syspath`), a udev monitor is opened
        /// (`udev_monitor_new_from_netlink(udev, "udev")`, filtered to the device's subsystem with
        /// `udev_monitor_filter_add_match_subsystem_devtype`, `"pci"` for PCI functions,
        /// `udev_monitor_enable_receiving`), and the device is checked again, so an event that
        /// arrives around the first check is not lost. Then the monitor's descriptor
        /// (`udev_monitor_get_fd`) is polled, with a re-check every 100 ms and after each event
        /// (`udev_monitor_receive_device`), until the deadline.
        ///
        /// Note that udevd only joins its monitor group when it runs (`/run/udev/control` exists) or
        /// `/dev` is devtmpfs; without udevd the re-check alone decides.
        ///
        /// - Throws: a failed-operation error naming the device when udevd does not finish within
        ///   `timeout` (saying whether systemd-udevd appears to run), when the device does not exist,
        ///   or when it is removed while waiting.
        public func waitUntilInitialized(syspath: String, timeout: Duration) throws(VGPUError) -> UdevDevice {
            let clock = ContinuousClock()
            let deadline = clock.now + timeout
            var current = try device(syspath: syspath)

            guard let monitor = udev_monitor_new_from_netlink(handle, "udev") else {
                let e = Errno(rawValue: errno)
                throw .failed(
                    .udev,
                    "cannot open a udev monitor to wait for \(syspath): \(e)",
                    underlying: SystemCallError("udev_monitor_new_from_netlink", errno: e))
            }
            defer { udev_monitor_unref(monitor) }
            var r: Int32 = 0
            if let subsystem = current.subsystem {
                r = udev_monitor_filter_add_match_subsystem_devtype(monitor, subsystem, nil)
            }
            if r >= 0 { r = udev_monitor_enable_receiving(monitor) }
            if r < 0 {
                let e = Errno(rawValue: -r)
                throw .failed(
                    .udev,
                    "cannot start a udev monitor to wait for \(syspath): \(e)",
                    underlying: SystemCallError("udev_monitor_enable_receiving", errno: e))
            }
            let fd = udev_monitor_get_fd(monitor)

            // Re-read now that the monitor is listening: an event udevd sent before this point is
            // reflected in the database entry.
            current = try device(syspath: current.syspath)
            while true {
                if current.isInitialized { return current }

                let readable: Bool
                do {
                    readable = try DeadlinePoll.waitReadable(
                        fd: fd, until: deadline, cap: Self.initializationRecheckInterval)
                } catch {
                    throw .failed(
                        .udev,
                        "waiting for udev to process \(current.sysname) failed: \(error)",
                        underlying: SystemCallError("poll", errno: error))
                }
                var processed = false
                if readable {
                    // Non-blocking: returns NULL (EAGAIN) once the queue is empty.
                    while let event = udev_monitor_receive_device(monitor) {
                        defer { udev_device_unref(event) }
                        guard UdevDevice.string(udev_device_get_syspath(event)) == current.syspath else { continue }
                        if UdevDevice.string(udev_device_get_action(event)) == "remove" {
                            throw .failed(
                                .udev,
                                "\(current.sysname) (\(current.syspath)) was removed while waiting for udev to process it"
                            )
                        }
                        processed = true
                    }
                }

                current = try device(syspath: current.syspath)
                if processed { return current }
                if clock.now >= deadline {
                    throw Self.notInitialized(current, timeout: timeout)
                }
            }
        }

        static func notInitialized(_ device: UdevDevice, timeout: Duration) -> VGPUError {
            let udevdRunning = access("/run/udev/control", F_OK) == 0
            let hint =
                udevdRunning
                ? "systemd-udevd seems to run (/run/udev/control exists); check 'journalctl -u systemd-udevd' and 'udevadm info \(device.syspath)'"
                : "is systemd-udevd running? /run/udev/control does not exist; start it ('systemctl start systemd-udevd') or check 'systemctl status systemd-udevd'"
            return .failed(
                .udev,
                "udev did not finish processing \(device.sysname) (\(device.syspath)) within \(DeadlinePoll.seconds(timeout)): it has no udev database entry /run/udev/data/\(device.databaseID) and udevd sent no event for it; \(hint)",
                cause: "udev_device_get_is_initialized(\(device.syspath)) == 0 at the deadline")
        }
    }
#endif
