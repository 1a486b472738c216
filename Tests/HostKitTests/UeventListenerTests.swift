#if os(Linux)
    import Foundation
    import Testing
    @testable import HostKit

    // The uevent listener: its wait logic over a scripted source, then the real thing — a libmnl
    // NETLINK_KOBJECT_UEVENT socket receiving uevents that the test makes the kernel emit by writing
    // `change <uuid>` to a device's `uevent` file (a synthetic uevent, kernel >= 4.13, which carries
    // SYNTH_UUID=<uuid> so concurrent tests cannot confuse each other's events).

    /// Replays datagrams, then waits out the deadline.
    final class ScriptedUeventSource: UeventSource {
        var datagrams: [[UInt8]]
        init(_ datagrams: [[UInt8]]) { self.datagrams = datagrams }

        func receive(deadline: ContinuousClock.Instant) throws(VGPUError) -> [UInt8]? {
            if !datagrams.isEmpty { return datagrams.removeFirst() }
            let remaining = ContinuousClock.now.duration(to: deadline)
            if remaining > .zero {
                Thread.sleep(
                    forTimeInterval: Double(remaining.components.seconds) + Double(remaining.components.attoseconds)
                        / 1e18)
            }
            return nil
        }
    }

    @Suite("UeventListener, scripted")
    struct UeventListenerScriptedTests {
        static func vf(_ action: String, _ fn: Int, seq: UInt64, driver: String? = nil) -> [UInt8] {
            var props = ["PCI_SLOT_NAME": "0000:01:00.\(fn)"]
            if let driver { props["DRIVER"] = driver }
            return Uevent(
                action: action, devpath: "/devices/pci0000:00/0000:00:01.0/0000:01:00.\(fn)",
                subsystem: "pci", seqnum: seq, properties: props
            ).kernelBytes
        }

        @Test("waitFor returns one event per match, in match order, skipping others and garbage")
        func waitForOrder() throws {
            let source = ScriptedUeventSource([
                Array("libudev".utf8) + [0, 0xfe, 0xed, 0xca, 0xfe],
                Self.vf("add", 5, seq: 10),
                [0xff, 0x00, 0x41],
                Self.vf("add", 6, seq: 11),
                Self.vf("add", 4, seq: 12),
                Self.vf("bind", 4, seq: 13, driver: "vfio-pci"),
            ])
            let listener = UeventListener(source: source)
            let a = PCIAddress("0000:01:00.4")!
            let b = PCIAddress("0000:01:00.5")!
            let events = try listener.waitFor(
                [.pciAdd(a), .pciBind(a, driver: "vfio-pci"), .pciAdd(b)],
                deadline: .now + .seconds(2))
            #expect(events.map(\.seqnum) == [12, 13, 10])
            #expect(source.datagrams.isEmpty)
            #expect(try listener.waitFor([], deadline: .now) == [])
        }

        @Test("next returns nil at the deadline; waitFor names what never arrived")
        func deadline() throws {
            let listener = UeventListener(
                source: ScriptedUeventSource([Self.vf("add", 4, seq: 1), Self.vf("change", 4, seq: 2)]))
            let a = PCIAddress("0000:01:00.4")!
            let b = PCIAddress("0000:01:00.5")!
            let start = ContinuousClock.now
            let error = #expect(throws: VGPUError.self) {
                try listener.waitFor(
                    [.pciAdd(a), .pciAdd(b), .pciBind(b, driver: "vfio-pci")], deadline: start + .milliseconds(300))
            }
            let elapsed = start.duration(to: .now)
            #expect(elapsed >= .milliseconds(300) && elapsed < .milliseconds(800), "\(elapsed)")
            #expect(error?.status == .failed)
            #expect(
                error?.message.contains("never arrived: add pci 0000:01:00.5, bind pci 0000:01:00.5 driver vfio-pci")
                    == true)
            #expect(error?.message.contains("arrived: add pci 0000:01:00.4") == true)
            #expect(error?.message.contains("1 other uevent received") == true)
            #expect(try listener.next(deadline: .now + .milliseconds(50)) == nil)
        }
    }

    /// What stops this process from seeing kernel uevents, if anything we can detect does.
    enum UeventEnvironment {
        /// `PROC_USER_INIT_INO`: the inode number of the initial user namespace (stable since 3.8).
        static let initialUserNamespace = "user:[4026531837]"

        static func problem(writing uevent: String) -> String? {
            if getuid() != 0 {
                return
                    "not running as root: the test triggers a uevent by writing \(uevent), which needs root; run the tests as root or inside the QEMU guest"
            }
            let userNS = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/user")) ?? "?"
            if userNS != initialUserNamespace {
                return
                    "this process runs in a non-initial user namespace (\(userNS)); the kernel broadcasts uevents only into network namespaces owned by the initial user namespace (lib/kobject_uevent.c), so this environment cannot receive them; run the test on a host or in the QEMU guest"
            }
            if access(uevent, W_OK) != 0 {
                return
                    "\(uevent) is not writable (\(String(cString: strerror(errno)))); /sys may be mounted read-only here; run the test on a host or in the QEMU guest"
            }
            return nil
        }

        /// Writes `change <uuid>`, making the kernel emit a synthetic `change` uevent carrying
        /// SYNTH_UUID=<uuid>.
        static func trigger(_ uevent: String, uuid: String) throws {
            guard let handle = FileHandle(forWritingAtPath: uevent) else {
                throw VGPUError.failed(
                    .uevent, "cannot open \(uevent) for writing: \(String(cString: strerror(errno)))")
            }
            defer { try? handle.close() }
            try handle.write(contentsOf: Data("change \(uuid)".utf8))
        }

        static func uuid() -> String { UUID().uuidString.lowercased() }
    }

    @Suite("UeventListener on the kernel's uevent socket (libmnl)", .serialized)
    struct UeventListenerKernelTests {
        @Test(
            "a synthetic change uevent of a PCI device arrives with the right ACTION, DEVPATH, SUBSYSTEM, PCI_SLOT_NAME, DRIVER"
        )
        func pciChange() throws {
            let all = try TestSysfs.pciDevices()
            let device = try #require(
                all.first(where: { $0.driver != nil }) ?? all.first,
                "no PCI devices in /sys/bus/pci/devices")
            let uevent = "/sys/bus/pci/devices/\(device.bdf)/uevent"
            if let problem = UeventEnvironment.problem(writing: uevent) {
                Issue.record("cannot test kernel uevents here: \(problem)")
                return
            }
            let listener = try UeventListener()  // 1. open
            let uuid = UeventEnvironment.uuid()
            try UeventEnvironment.trigger(uevent, uuid: uuid)  // 2. trigger
            let match = UeventMatch(
                action: "change", subsystem: "pci", pciSlotName: device.bdf,
                devpathSuffix: device.bdf, properties: ["SYNTH_UUID": uuid])
            let events = try listener.waitFor([match], deadline: .now + .seconds(5))  // 3. wait
            let e = try #require(events.first)
            #expect(e.action == "change")
            #expect(e.subsystem == "pci")
            #expect(e.devpath == device.devpath)
            #expect(e.pciSlotName == device.bdf)
            #expect(e.driver == device.driver)
            #expect(e.properties["PCI_ID"] == device.pciID)
            #expect(e.seqnum > 0)
        }

        @Test("next(deadline:) returns a synthetic change uevent of lo (subsystem net)")
        func loChange() throws {
            let uevent = "/sys/devices/virtual/net/lo/uevent"
            if let problem = UeventEnvironment.problem(writing: uevent) {
                Issue.record("cannot test kernel uevents here: \(problem)")
                return
            }
            let listener = try UeventListener()
            let uuid = UeventEnvironment.uuid()
            try UeventEnvironment.trigger(uevent, uuid: uuid)
            let deadline = ContinuousClock.now + .seconds(5)
            var found: Uevent?
            while found == nil, let e = try listener.next(deadline: deadline) {
                if e.properties["SYNTH_UUID"] == uuid { found = e }
            }
            let e = try #require(found, "the change uevent of lo did not arrive within 5 s")
            #expect(e.action == "change" && e.subsystem == "net" && e.devpath == "/devices/virtual/net/lo")
            #expect(e.properties["INTERFACE"] == "lo")
        }

        /// With the kernel's default receive buffer (net.core.rmem_default, 208 KiB) about 160 such
        /// events fit; 512 queued at once only arrive complete because of the larger buffer.
        @Test("a burst of 512 uevents queued before reading is received completely")
        func burst() throws {
            let device = try #require(TestSysfs.pciDevices().first, "no PCI devices in /sys/bus/pci/devices")
            let uevent = "/sys/bus/pci/devices/\(device.bdf)/uevent"
            if let problem = UeventEnvironment.problem(writing: uevent) {
                Issue.record("cannot test kernel uevents here: \(problem)")
                return
            }
            let socket = try NetlinkUeventSocket()
            // As root SO_RCVBUFFORCE applies; the kernel reports twice the 8 MiB requested.
            #expect(socket.receiveBufferSize >= NetlinkUeventSocket.defaultReceiveBufferSize)
            let listener = UeventListener(source: socket)
            let uuids = (0..<512).map { _ in UeventEnvironment.uuid() }
            for uuid in uuids { try UeventEnvironment.trigger(uevent, uuid: uuid) }  // all queued before any read
            let matches = uuids.map {
                UeventMatch(action: "change", subsystem: "pci", pciSlotName: device.bdf, properties: ["SYNTH_UUID": $0])
            }
            let events = try listener.waitFor(matches, deadline: .now + .seconds(10))
            #expect(events.count == 512)
            #expect(Set(events.map(\.seqnum)).count == 512)
        }

        @Test("an overflowing receive buffer is reported as dropped events, not as a timeout")
        func overflow() throws {
            let device = try #require(TestSysfs.pciDevices().first, "no PCI devices in /sys/bus/pci/devices")
            let uevent = "/sys/bus/pci/devices/\(device.bdf)/uevent"
            if let problem = UeventEnvironment.problem(writing: uevent) {
                Issue.record("cannot test kernel uevents here: \(problem)")
                return
            }
            // The kernel rounds a tiny request up to its minimum (a few KiB): room for a couple of events.
            let listener = UeventListener(source: try NetlinkUeventSocket(receiveBufferSize: 1))
            let uuids = (0..<64).map { _ in UeventEnvironment.uuid() }
            for uuid in uuids { try UeventEnvironment.trigger(uevent, uuid: uuid) }
            let matches = uuids.map { UeventMatch(action: "change", subsystem: "pci", properties: ["SYNTH_UUID": $0]) }
            let error = #expect(throws: VGPUError.self) {
                try listener.waitFor(matches, deadline: .now + .seconds(5))
            }
            #expect(error?.message.contains("the kernel dropped uevents") == true, "\(String(describing: error))")
        }

        @Test("nothing expected arrives: a timeout error naming the missing event, within the deadline plus slack")
        func timeout() throws {
            let listener = try UeventListener()
            let start = ContinuousClock.now
            let missing = [
                UeventMatch(action: "add", subsystem: "pci", pciSlotName: "ffff:ff:1f.7"),
                UeventMatch(action: "bind", subsystem: "pci", devpathSuffix: "ffff:ff:1f.6", driver: "vfio-pci"),
            ]
            let error = #expect(throws: VGPUError.self) {
                try listener.waitFor(missing, deadline: start + .milliseconds(500))
            }
            let elapsed = start.duration(to: .now)
            #expect(elapsed >= .milliseconds(500), "\(elapsed)")
            #expect(elapsed < .milliseconds(1000), "returned \(elapsed) after the call, deadline was 500 ms")
            let message = error?.message ?? ""
            #expect(message.contains("timed out after 0.5"), "\(message)")
            #expect(
                message.contains(
                    "never arrived: add pci ffff:ff:1f.7, bind pci devpath …/ffff:ff:1f.6 driver vfio-pci"),
                "\(message)")
        }
    }
#endif
