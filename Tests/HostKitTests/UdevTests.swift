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
            return PCIDevice(bdf: bdf, syspath: syspath, devpath: String(syspath.dropFirst("/sys".count)),
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

    @Test("waitUntilInitialized times out for a device udev never processes, naming it",
          .enabled(if: !UdevEnvironment.udevdRunning,
                   "systemd-udevd is running here, so there is no PCI device it never processes"))
    func waitTimesOut() throws {
        let udev = try UdevContext()
        let device = try #require(try udev.pciDevices().first(where: { !$0.isInitialized }),
                                  "every PCI device has a udev database entry although systemd-udevd is not running")
        let start = ContinuousClock.now
        let error = #expect(throws: VGPUError.self) {
            try udev.waitUntilInitialized(syspath: device.syspath, timeout: .milliseconds(300))
        }
        let elapsed = start.duration(to: .now)
        #expect(elapsed >= .milliseconds(300), "\(elapsed)")
        #expect(elapsed < .milliseconds(800), "\(elapsed)")
        let message = error?.message ?? ""
        #expect(message.contains("udev did not finish processing \(device.sysname) (\(device.syspath)) within 0.3 s"), "\(message)")
        #expect(message.contains("/run/udev/data/+pci:\(device.sysname)"), "\(message)")
        #expect(message.contains("is systemd-udevd running?"), "\(message)")
        #expect(error?.status == .failed)
    }

    /// Plays udevd's part in the one way libudev observes it without the monitor: the database
    /// entry appears (udevd writes it when it finishes a device). Only without a running udevd,
    /// whose database must not be touched.
    /// Success path of the wait, through whichever party is present: a running udevd
    /// re-processing the device, or (without udevd) the database entry appearing.
    @Test("waitUntilInitialized returns once udev has processed the device")
    func waitSucceeds() throws {
        if UdevEnvironment.udevdRunning { try waitWithUdevd() } else { try waitSucceedsWhenEntryAppears() }
    }

    func waitSucceedsWhenEntryAppears() throws {
        let udev = try UdevContext()
        let device = try #require(try udev.pciDevices().last(where: { !$0.isInitialized }),
                                  "every PCI device has a udev database entry although systemd-udevd is not running")
        let fm = FileManager.default
        let created = ["/run/udev", "/run/udev/data"].filter { !fm.fileExists(atPath: $0) }
        let entry = "/run/udev/data/\(device.databaseID)"
        try #require(!fm.fileExists(atPath: entry))
        defer {
            try? fm.removeItem(atPath: entry)
            for dir in created.reversed() { rmdir(dir) }
        }

        Thread.detachNewThread {
            usleep(300_000)
            try? FileManager.default.createDirectory(atPath: "/run/udev/data", withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: entry, contents: Data("V:1\n".utf8))
        }
        let start = ContinuousClock.now
        let ready = try udev.waitUntilInitialized(syspath: device.syspath, timeout: .seconds(3))
        let elapsed = start.duration(to: .now)
        #expect(ready.isInitialized)
        #expect(ready.syspath == device.syspath)
        #expect(elapsed >= .milliseconds(250) && elapsed < .seconds(2), "\(elapsed)")

        // Already initialized: returns without waiting.
        let again = ContinuousClock.now
        #expect(try udev.waitUntilInitialized(syspath: device.syspath, timeout: .seconds(3)).isInitialized)
        #expect(again.duration(to: .now) < .milliseconds(100))
    }

    func waitWithUdevd() throws {
        let udev = try UdevContext()
        let devices = try udev.pciDevices()
        let device = try #require(devices.first(where: { !$0.isInitialized }) ?? devices.first, "no PCI devices")
        // Make udevd process the device again while we wait: its monitor broadcast (or the
        // database entry) ends the wait.
        let uevent = device.syspath + "/uevent"
        Thread.detachNewThread {
            usleep(200_000)
            if let h = FileHandle(forWritingAtPath: uevent) {
                try? h.write(contentsOf: Data("change".utf8))
                try? h.close()
            }
        }
        let ready = try udev.waitUntilInitialized(syspath: device.syspath, timeout: .seconds(10))
        #expect(ready.syspath == device.syspath)
        // Initialized exactly when udevd's rules left something to store.
        #expect(ready.isInitialized == FileManager.default.fileExists(atPath: "/run/udev/data/\(ready.databaseID)"))
    }
}
#endif
