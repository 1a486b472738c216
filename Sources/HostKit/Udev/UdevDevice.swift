#if os(Linux)
    import CUdev

    /// A snapshot of one device as libudev sees it: sysfs identity plus the udev properties.
    ///
    /// Taken from a `struct udev_device *` at one moment; a value, safe to keep and send between
    /// threads. Take a new snapshot (``UdevContext/device(syspath:)``) to see later changes.
    public struct UdevDevice: Sendable, Equatable, Hashable, CustomStringConvertible {
        /// `udev_device_get_syspath`: the absolute, canonical sysfs path
        /// (`/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0`).
        public var syspath: String
        /// `udev_device_get_sysname`: the last path component; for a PCI device its address
        /// (`0000:01:00.0`).
        public var sysname: String
        /// `udev_device_get_devpath`: the syspath without the leading `/sys`, as in kernel uevents.
        public var devpath: String
        /// `udev_device_get_subsystem`: `pci`, `net`, ...; nil if the device has none.
        public var subsystem: String?
        /// `udev_device_get_driver`: the bound driver (`vfio-pci`, `nvidia`); nil when unbound.
        public var driver: String?
        /// `udev_device_get_properties_list_entry`: every property, from the kernel's `uevent` file
        /// and, once udev has processed the device, from its database entry (`PCI_SLOT_NAME`,
        /// `PCI_ID`, `ID_VENDOR_FROM_DATABASE`, ...).
        public var properties: [String: String]
        /// `udev_device_get_is_initialized`: whether udev has a database entry for the device
        /// (`/run/udev/data/+pci:<BDF>` for a PCI device), i.e. systemd-udevd has run its rules
        /// on it.
        public var isInitialized: Bool

        /// ``sysname`` as a PCI address, for devices of subsystem `pci`.
        public var pciAddress: PCIAddress? { subsystem == "pci" ? PCIAddress(sysname) : nil }

        public init(
            syspath: String, sysname: String, devpath: String, subsystem: String?,
            driver: String?, properties: [String: String], isInitialized: Bool
        ) {
            self.syspath = syspath
            self.sysname = sysname
            self.devpath = devpath
            self.subsystem = subsystem
            self.driver = driver
            self.properties = properties
            self.isInitialized = isInitialized
        }

        /// Copies everything out of a `struct udev_device *` (which stays owned by the caller).
        init(_ device: OpaquePointer) {
            syspath = Self.string(udev_device_get_syspath(device)) ?? ""
            sysname = Self.string(udev_device_get_sysname(device)) ?? ""
            devpath = Self.string(udev_device_get_devpath(device)) ?? ""
            subsystem = Self.string(udev_device_get_subsystem(device))
            driver = Self.string(udev_device_get_driver(device))
            isInitialized = udev_device_get_is_initialized(device) > 0
            var props: [String: String] = [:]
            var entry = udev_device_get_properties_list_entry(device)
            while let e = entry {
                if let name = Self.string(udev_list_entry_get_name(e)) {
                    props[name] = Self.string(udev_list_entry_get_value(e)) ?? ""
                }
                entry = udev_list_entry_get_next(e)
            }
            properties = props
        }

        static func string(_ p: UnsafePointer<CChar>?) -> String? {
            p.map { String(cString: $0) }
        }

        /// The name of udev's database entry for this device below `/run/udev/data/`, as
        /// `sd_device_get_device_id` forms it: `b8:0` / `c1:3` for block / character device nodes,
        /// `n2` for network interfaces, else `+<subsystem>:<sysname>` (`+pci:0000:01:00.0`).
        public var databaseID: String {
            if let major = properties["MAJOR"], let minor = properties["MINOR"] {
                return (subsystem == "block" ? "b" : "c") + "\(major):\(minor)"
            }
            if let ifindex = properties["IFINDEX"], ifindex != "0" { return "n\(ifindex)" }
            return "+\(subsystem ?? ""):\(sysname)"
        }

        public var description: String {
            var s = "\(sysname) (\(syspath)"
            if let driver { s += ", driver \(driver)" }
            return s + (isInitialized ? ", initialized by udev)" : ", not initialized by udev)")
        }
    }
#endif
