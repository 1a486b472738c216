#if os(Linux)
    #if canImport(Glibc)
        import Glibc
    #elseif canImport(Musl)
        import Musl
    #endif
    import CUdev
    import SystemPackage

    /// A libudev context (`struct udev *`, from `udev_new`, released with `udev_unref`).
    ///
    /// **Real hosts only.** libudev always reads the live `/sys` and `/run/udev`; it has no root
    /// parameter, so it cannot be pointed at a simulated host tree. Code that must also work on a
    /// ``HostRoot`` other than `/` reads sysfs through the root instead and uses udev only to wait
    /// for udevd (``waitUntilInitialized(syspath:timeout:)``) on a real host.
    ///
    /// Not thread-safe (libudev objects are not): use one context from one thread at a time. The
    /// ``UdevDevice`` snapshots it returns are plain values and can be shared freely.
    public final class UdevContext {
        /// `struct udev *`.
        let handle: OpaquePointer

        /// `udev_new`. `root` must be the real host (`/`); any other root is refused with an
        /// invalid-input error, because libudev would silently read the real `/sys` instead.
        public init(root: HostRoot = .system) throws(VGPUError) {
            guard root.path == "/" else {
                throw .invalid(
                    .udev,
                    "libudev reads the real /sys and cannot be pointed at the host root \(root.path); udev is only used on a real host (root /)"
                )
            }
            guard let udev = udev_new() else {
                let e = Errno(rawValue: errno)
                throw .failed(
                    .udev,
                    "cannot create a libudev context: \(e)", underlying: SystemCallError("udev_new", errno: e))
            }
            handle = udev
        }

        deinit {
            udev_unref(handle)
        }

        /// All devices of subsystem `pci`, sorted by address: `udev_enumerate_new`,
        /// `udev_enumerate_add_match_subsystem("pci")`, `udev_enumerate_scan_devices`, then
        /// `udev_device_new_from_syspath` for each entry of `udev_enumerate_get_list_entry`.
        ///
        /// A device that disappears between the scan and the lookup (a VF being removed) is left out.
        public func pciDevices() throws(VGPUError) -> [UdevDevice] {
            try devices(subsystem: "pci")
        }

        /// All devices of `subsystem`, sorted by sysname (see ``pciDevices()``).
        public func devices(subsystem: String) throws(VGPUError) -> [UdevDevice] {
            guard let enumerate = udev_enumerate_new(handle) else {
                let e = Errno(rawValue: errno)
                throw .failed(
                    .udev,
                    "cannot list \(subsystem) devices through libudev: \(e)",
                    underlying: SystemCallError("udev_enumerate_new", errno: e))
            }
            defer { udev_enumerate_unref(enumerate) }

            var r = udev_enumerate_add_match_subsystem(enumerate, subsystem)
            if r >= 0 { r = udev_enumerate_scan_devices(enumerate) }
            if r < 0 {
                let e = Errno(rawValue: -r)
                throw .failed(
                    .udev,
                    "cannot list \(subsystem) devices through libudev (scanning /sys/bus/\(subsystem)/devices failed: \(e)); check that /sys is mounted",
                    underlying: SystemCallError("udev_enumerate_scan_devices", errno: e))
            }

            var result: [UdevDevice] = []
            var entry = udev_enumerate_get_list_entry(enumerate)
            while let e = entry {
                if let path = udev_list_entry_get_name(e), let device = udev_device_new_from_syspath(handle, path) {
                    result.append(UdevDevice(device))
                    udev_device_unref(device)
                }
                entry = udev_list_entry_get_next(e)
            }
            return result.sorted(by: Self.inAddressOrder)
        }

        /// A snapshot of the device at `syspath`: `udev_device_new_from_syspath`. `syspath` may be
        /// any path that resolves to a device directory (`/sys/bus/pci/devices/0000:01:00.0`);
        /// the snapshot carries the canonical one.
        public func device(syspath: String) throws(VGPUError) -> UdevDevice {
            guard let device = udev_device_new_from_syspath(handle, syspath) else {
                let e = Errno(rawValue: errno)
                throw .failed(
                    .udev,
                    "no device at \(syspath) (\(e)); check the address with 'lspci -D' or 'ls /sys/bus/pci/devices'",
                    underlying: SystemCallError("udev_device_new_from_syspath", errno: e))
            }
            defer { udev_device_unref(device) }
            return UdevDevice(device)
        }

        /// PCI devices by address, then everything else by sysname.
        static func inAddressOrder(_ a: UdevDevice, _ b: UdevDevice) -> Bool {
            switch (a.pciAddress, b.pciAddress) {
            case (let x?, let y?) where x != y: x < y
            case (.some, nil): true
            case (nil, .some): false
            default: a.sysname < b.sysname
            }
        }
    }

#endif
