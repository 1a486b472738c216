#if os(Linux)
    import Foundation
    import Testing
    @testable import HostKit

    // The libudev bridge against this machine's real /sys and /run/udev (libudev has no root
    // parameter, so there is nothing to simulate).

    /// This machine's PCI functions, read directly from sysfs, to check libudev against.
    enum TestSysfs {
        struct PCIDevice {
            var bdf: String
            /// Canonical `/sys/devices/...` path.
            var syspath: String
            /// `syspath` without `/sys`.
            var devpath: String
            var driver: String?
            /// `VVVV:DDDD` from the `vendor` and `device` files, as the kernel formats PCI_ID.
            var pciID: String
        }

        static let devices = "/sys/bus/pci/devices"

        static func pciDevices() throws -> [PCIDevice] {
            try FileManager.default.contentsOfDirectory(atPath: devices).sorted().map { bdf in
                let link = "\(devices)/\(bdf)"
                let syspath = realPath(link) ?? link
                let driver = (try? FileManager.default.destinationOfSymbolicLink(atPath: "\(link)/driver"))
                    .map { String($0.split(separator: "/").last ?? "") }
                return PCIDevice(
                    bdf: bdf, syspath: syspath, devpath: String(syspath.dropFirst("/sys".count)),
                    driver: driver, pciID: "\(try hex4("\(link)/vendor")):\(try hex4("\(link)/device"))")
            }
        }

        /// `0x10de\n` -> `10DE`.
        static func hex4(_ path: String) throws -> String {
            let text = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let digits = text.hasPrefix("0x") ? String(text.dropFirst(2)) : text
            return String(repeating: "0", count: max(0, 4 - digits.count)) + digits.uppercased()
        }

        static func realPath(_ path: String) -> String? {
            guard let p = realpath(path, nil) else { return nil }
            defer { free(p) }
            return String(cString: p)
        }
    }

    enum UdevEnvironment {
        /// systemd-udevd creates its control socket at start and removes it when it stops.
        static var udevdRunning: Bool { access("/run/udev/control", F_OK) == 0 }
    }

    @Suite("UdevContext (libudev) on this machine", .serialized)
    struct UdevTests {
        @Test("enumerating subsystem pci gives exactly the devices in /sys/bus/pci/devices, with matching properties")
        func enumerate() throws {
            let sysfs = try TestSysfs.pciDevices()
            // An empty /sys/bus/pci would make the comparison below prove nothing.
            try #require(!sysfs.isEmpty, "no PCI devices in /sys/bus/pci/devices on this machine")

            let udev = try UdevContext()
            let devices = try udev.pciDevices()
            #expect(devices.map(\.sysname) == sysfs.map(\.bdf))
            #expect(Set(devices.map(\.sysname)) == Set(sysfs.map(\.bdf)))

            for (d, s) in zip(devices, sysfs) {
                #expect(d.syspath == s.syspath)
                #expect(d.devpath == s.devpath)
                #expect(d.subsystem == "pci")
                #expect(d.driver == s.driver, "\(s.bdf)")
                #expect(d.pciAddress == PCIAddress(s.bdf))
                #expect(d.properties["PCI_SLOT_NAME"] == s.bdf)
                #expect(d.properties["PCI_ID"] == s.pciID, "\(s.bdf)")
                #expect(d.properties["SUBSYSTEM"] == "pci")
                #expect(d.properties["DEVPATH"] == s.devpath)
                #expect(d.properties["DRIVER"] == s.driver)
                #expect(d.databaseID == "+pci:\(s.bdf)")
                // is_initialized is exactly "udev has a database entry".
                let hasEntry = FileManager.default.fileExists(atPath: "/run/udev/data/+pci:\(s.bdf)")
                #expect(d.isInitialized == hasEntry, "\(s.bdf)")
            }
        }

        @Test("device(syspath:) resolves the /sys/bus/pci/devices link; a missing device is an error naming it")
        func deviceLookup() throws {
            let s = try #require(try TestSysfs.pciDevices().first, "no PCI devices in /sys/bus/pci/devices")
            let udev = try UdevContext()
            let d = try udev.device(syspath: "\(TestSysfs.devices)/\(s.bdf)")
            #expect(d.syspath == s.syspath && d.sysname == s.bdf)

            let missing = "\(TestSysfs.devices)/ffff:ff:1f.7"
            let error = #expect(throws: VGPUError.self) { try udev.device(syspath: missing) }
            #expect(error?.message.contains(missing) == true)
        }

        @Test("a context for a simulated host root is refused")
        func refusesOtherRoots() {
            let error = #expect(throws: VGPUError.self) { try UdevContext(root: HostRoot("/tmp/some-sim-host")) }
            #expect(error?.status == .invalidInput)
            #expect(error?.message.contains("/tmp/some-sim-host") == true)
        }

        /// A PCI device that udev has not initialised (no database entry), whether or not
        /// systemd-udevd runs: one without an entry, else one whose entry is moved aside for the
        /// test (`restore` puts it back).
        struct Uninitialized {
            var device: UdevDevice
            var restore: () -> Void
        }

        func uninitializedDevice(_ udev: UdevContext, last: Bool = false) throws -> Uninitialized {
            let all = try udev.pciDevices()
            if let d = last ? all.last(where: { !$0.isInitialized }) : all.first(where: { !$0.isInitialized }) {
                return Uninitialized(device: d, restore: {})
            }
            let d = try #require(last ? all.last : all.first, "this machine shows no PCI device")
            let entry = "/run/udev/data/\(d.databaseID)"
            let aside = entry + ".vgpuctl-test"
            try #require(rename(entry, aside) == 0, "cannot move \(entry) aside: errno \(errno)")
            let fresh = try udev.device(syspath: d.syspath)
            try #require(!fresh.isInitialized, "\(d.sysname) still reads as initialised without \(entry)")
            return Uninitialized(
                device: fresh,
                restore: {
                    // udevd may have written a new entry meanwhile: the original goes back either way.
                    _ = rename(aside, entry)
                })
        }

        @Test("waitUntilInitialized times out for a device udev does not process, naming it")
        func waitTimesOut() throws {
            let udev = try UdevContext()
            let u = try uninitializedDevice(udev)
            defer { u.restore() }
            let device = u.device
            let start = ContinuousClock.now
            let error = #expect(throws: VGPUError.self) {
                try udev.waitUntilInitialized(syspath: device.syspath, timeout: .milliseconds(300))
            }
            let elapsed = start.duration(to: .now)
            #expect(elapsed >= .milliseconds(300), "\(elapsed)")
            // It returns at the deadline, not much later (generous for a loaded machine).
            #expect(elapsed < .seconds(10), "\(elapsed)")
            let message = error?.message ?? ""
            #expect(
                message.contains("udev did not finish processing \(device.sysname) (\(device.syspath)) within 0.3 s"),
                "\(message)")
            #expect(message.contains("/run/udev/data/+pci:\(device.sysname)"), "\(message)")
            #expect(message.contains("is systemd-udevd running?"), "\(message)")
            #expect(error?.status == .failed)
        }

        /// Success path of the wait on a device that is not initialised when the wait starts:
        /// through a running udevd re-processing it (a `change` uevent), or without udevd, by the
        /// database entry appearing (udevd writes it when it finishes a device).
        @Test("waitUntilInitialized returns once udev has processed the device")
        func waitSucceeds() throws {
            let udev = try UdevContext()
            let u = try uninitializedDevice(udev, last: true)
            defer { u.restore() }
            let device = u.device
            #expect(!device.isInitialized)
            let fm = FileManager.default
            let entry = "/run/udev/data/\(device.databaseID)"
            var cleanup: () -> Void = {}
            if UdevEnvironment.udevdRunning {
                let uevent = device.syspath + "/uevent"
                Thread.detachNewThread {
                    usleep(300_000)
                    if let h = FileHandle(forWritingAtPath: uevent) {
                        try? h.write(contentsOf: Data("change".utf8))
                        try? h.close()
                    }
                }
            } else {
                let created = ["/run/udev", "/run/udev/data"].filter { !fm.fileExists(atPath: $0) }
                try #require(!fm.fileExists(atPath: entry))
                cleanup = {
                    try? fm.removeItem(atPath: entry)
                    for dir in created.reversed() { rmdir(dir) }
                }
                Thread.detachNewThread {
                    usleep(300_000)
                    try? FileManager.default.createDirectory(
                        atPath: "/run/udev/data", withIntermediateDirectories: true)
                    _ = FileManager.default.createFile(atPath: entry, contents: Data("V:1\n".utf8))
                }
            }
            defer { cleanup() }
            let start = ContinuousClock.now
            let ready = try udev.waitUntilInitialized(syspath: device.syspath, timeout: .seconds(30))
            let elapsed = start.duration(to: .now)
            #expect(ready.isInitialized)
            #expect(ready.syspath == device.syspath)
            // It waited for the event (not vacuous) and returned well before its deadline.
            #expect(elapsed >= .milliseconds(250), "\(elapsed)")

            // Already initialized: returns without waiting for the deadline.
            let again = ContinuousClock.now
            #expect(try udev.waitUntilInitialized(syspath: device.syspath, timeout: .seconds(30)).isInitialized)
            #expect(again.duration(to: .now) < .seconds(10))
        }
    }
#endif
