import CControlChannel
import ControlChannel
import Foundation
import HostKit
import HostSim
import SimGPU
import SystemPackage
import TestSupport
import Testing

/// A recording fake of a fwctl character device: it reads the structs vgpuctl passes as the
/// kernel would, answers from `firmware`, or fails with `failure`.
final class FakeFwctl: FwctlFile {
    let path = "/dev/fwctl/fwctl0"
    var deviceType = NovaCoreTable.deviceType
    var deviceData: [UInt8] = []
    var failure: Errno?
    /// Answers a request: the reply bytes and the length to report.
    var firmware: ([UInt8]) -> (reply: [UInt8], length: Int) = { _ in ([], 0) }
    /// Every call: the ioctl number, the struct's bytes as passed, the request bytes (RPC).
    private(set) var calls: [(request: UInt32, arg: [UInt8], input: [UInt8])] = []
    private(set) var closed = false

    func ioctl(_ request: UInt32, _ arg: UnsafeMutableRawPointer) -> Errno? {
        if request == Fwctl.info {
            var info = arg.load(as: fwctl_info.self)
            calls.append((request, Fwctl.bytes(of: info), []))
            if let failure { return failure }
            let n = min(Int(info.device_data_len), deviceData.count)
            if n > 0, let out = UnsafeMutableRawPointer(bitPattern: UInt(info.out_device_data)) {
                deviceData.withUnsafeBytes { out.copyMemory(from: $0.baseAddress!, byteCount: n) }
            }
            info.out_device_type = deviceType
            info.device_data_len = UInt32(deviceData.count)
            arg.storeBytes(of: info, as: fwctl_info.self)
            return nil
        }
        var rpc = arg.load(as: fwctl_rpc.self)
        let input = [UInt8](
            UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: UInt(rpc.in)), count: Int(rpc.in_len)))
        calls.append((request, Fwctl.bytes(of: rpc), input))
        if let failure { return failure }
        let (reply, length) = firmware(input)
        let n = min(reply.count, Int(rpc.out_len))
        if n > 0, let out = UnsafeMutableRawPointer(bitPattern: UInt(rpc.out)) {
            reply.withUnsafeBytes { out.copyMemory(from: $0.baseAddress!, byteCount: n) }
        }
        rpc.out_len = UInt32(length)
        arg.storeBytes(of: rpc, as: fwctl_rpc.self)
        return nil
    }

    func close() { closed = true }
}

/// The ioctl transport against the recording fake: the structs it passes, errnos as sentences,
/// and finding the fwctl device in sysfs (or saying what the kernel lacks).
@Suite struct IoctlTransportTests {
    @Test func rpcPassesTheStructAndTheRequestAsTheKernelReadsThem() throws {
        let fake = FakeFwctl()
        fake.firmware = { req in
            let r = ManagementReply.typeIDs([1205, 1206]).encoded(for: NovaCoreTable.querySupported)
            return (r, r.count)
        }
        let client = VGPUManagementClient(transport: FwctlIoctlTransport(file: fake))
        #expect(try client.querySupported() == [1205, 1206])
        let call = try #require(fake.calls.first)
        #expect(call.request == 0x9A01)
        #expect(call.input == ManagementRequest.querySupported.encoded)
        #expect(
            Array(call.arg.prefix(16))
                == annotatedHex(
                    """
                    20 00 00 00  // size 32
                    00 00 00 00  // FWCTL_RPC_CONFIGURATION
                    08 00 00 00  // in_len: the 8-byte header
                    08 02 00 00  // out_len: header + 128 type ids
                    """))
        client.close()
        #expect(fake.closed)
    }

    @Test func infoAsksAgainWhenTheDeviceDataIsLonger() throws {
        let fake = FakeFwctl()
        fake.deviceType = FwctlDeviceType.mlx5.rawValue
        fake.deviceData = (0..<300).map { UInt8(truncatingIfNeeded: $0) }
        let info = try FwctlIoctlTransport(file: fake).info()
        #expect(info.deviceType == .mlx5 && info.deviceData == fake.deviceData && info.deviceDataLength == 300)
        #expect(fake.calls.count == 2)
        #expect(
            Array(fake.calls[0].arg.prefix(16))
                == annotatedHex("18 00 00 00 00 00 00 00 00 00 00 00 00 01 00 00  // size 24, flags 0, -, room 256"))
        let client = VGPUManagementClient(transport: FwctlIoctlTransport(file: fake))
        #expect(throws: ControlChannelError.self) { try client.requireNovaCore() }
    }

    @Test func aReplyLongerThanItsRoomIsOversized() {
        let fake = FakeFwctl()
        fake.firmware = { _ in (ManagementReply.done.encoded(for: NovaCoreTable.assign), 4096) }
        let client = VGPUManagementClient(transport: FwctlIoctlTransport(file: fake))
        do {
            try client.deassign(vf: PCIAddress("0000:18:00.4")!)
            Issue.record("an oversized reply was accepted")
        } catch {
            #expect(
                error.description
                    == "bad reply to DEASSIGN_VGPU_TYPE: the reply claims 4096 bytes, more than the 8 bytes of room given for it (at most 16384 are allowed)"
            )
        }
    }

    static let errnos: [(Errno, FwctlScope, [String])] = [
        (.argListTooLong, .configuration, ["E2BIG", "32-byte struct", "older than the Linux 6.15 UAPI"]),
        (.messageTooLong, .configuration, ["EMSGSIZE", "2 MiB limit", "MAX_RPC_LEN"]),
        (.notPermitted, .debugWriteFull, ["EPERM", "FWCTL_RPC_DEBUG_WRITE_FULL scope needs CAP_SYS_RAWIO"]),
        (
            .notPermitted, .debugWrite,
            ["EPERM", "only in the FWCTL_RPC_CONFIGURATION scope, not FWCTL_RPC_DEBUG_WRITE"]
        ),
        (.notSupported, .debugReadOnly, ["EOPNOTSUPP", "does not support scope 1"]),
        (.noSuchDevice, .configuration, ["ENODEV", "hot-unplugged", "orphaned"]),
        (.ioError, .configuration, ["EIO", "the firmware refused", "does not pass the reason on"]),
        (.invalidArgument, .configuration, ["EINVAL", "malformed"]),
        (.inappropriateIOCTLForDevice, .configuration, ["ENOTTY", "not a fwctl device"]),
    ]

    @Test(arguments: errnos)
    func errnosBecomeSentences(errno: Errno, scope: FwctlScope, words: [String]) {
        let fake = FakeFwctl()
        fake.failure = errno
        let client = VGPUManagementClient(transport: FwctlIoctlTransport(file: fake), scope: scope)
        do {
            _ = try client.queryAssigned(vf: PCIAddress("0000:18:00.4")!)
            Issue.record("no error for \(errno)")
        } catch {
            let text = error.description
            #expect(text.hasPrefix("/dev/fwctl/fwctl0 refused FWCTL_RPC QUERY_ASSIGNED_VF_VGPU_TYPE with "), "\(text)")
            for w in words { #expect(text.contains(w), "'\(w)' missing: \(text)") }
            #expect(error.exitStatus == .failed)
        }
    }

    @Test func requestsOverTwoMiBAreRefusedBeforeTheCall() {
        let fake = FakeFwctl()
        let t = FwctlIoctlTransport(file: fake)
        #expect(throws: ControlChannelError.self) {
            _ = try t.rpc(scope: .configuration, request: [UInt8](repeating: 0, count: Fwctl.maxRPCLength + 1), room: 8)
        }
        #expect(throws: ControlChannelError.self) {
            _ = try t.rpc(scope: .configuration, request: [0, 0, 0, 0, 0, 0, 0, 0], room: Fwctl.maxRPCLength + 1)
        }
        #expect(fake.calls.isEmpty)
    }

    // MARK: Finding the device

    /// An h100x8 tree without the simulation marker: a real host as vgpuctl sees it.
    func realLookingHost(_ iface: SimVGPUInterface = .none) throws -> HostRoot {
        let dir = TestSupport.tempDir("cc-real") + "/host"
        _ = try SimHostBuilder.create(at: dir, model: "h100x8", vgpuInterface: iface)
        try FileManager.default.removeItem(atPath: dir + "/" + HostRoot.simulationMarker)
        return HostRoot(dir)
    }

    @Test func aKernelWithoutFwctlIsNamed() throws {
        let root = try realLookingHost()
        try FileManager.default.createDirectory(atPath: root.url("proc/sys/kernel"), withIntermediateDirectories: true)
        try "6.1.0-test\n".write(toFile: root.url("proc/sys/kernel/osrelease"), atomically: true, encoding: .utf8)
        do {
            _ = try FwctlLocator.device(for: h100PF, root: root)
            Issue.record("found a fwctl device")
        } catch {
            let t = error.description
            for w in [
                "the kernel has no fwctl device for 0000:18:00.0", "sys/class/fwctl does not exist",
                "no fwctl subsystem",
                "CONFIG_FWCTL, merged in Linux 6.15; this kernel is 6.1.0-test", "nova-core's fwctl driver",
                "not upstream yet",
                "bound to nvidia", "NVIDIA's own driver offers no fwctl interface",
            ] {
                #expect(t.contains(w), "'\(w)' missing: \(t)")
            }
        }
    }

    @Test func fwctlWithoutADriverForTheGPUIsNamed() throws {
        let root = try realLookingHost()
        let nic = try #require(SysfsReader(root: root).pciAddresses().first { $0 != h100PF })
        let dir = root.url("\(HostRoot.fwctlClass)/fwctl0")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "234:0\n".write(toFile: dir + "/dev", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(
            atPath: dir + "/device",
            withDestinationPath: root.url(try #require(SysfsReader(root: root).device(nic)?.canonicalPath)))
        #expect(FwctlLocator.devices(root: root).map(\.parent) == [nic.description])
        do {
            _ = try FwctlLocator.device(for: h100PF, root: root)
            Issue.record("found a fwctl device")
        } catch {
            let t = error.description
            #expect(
                t.contains("fwctl is present (fwctl0 for \(nic))")
                    && t.contains("no fwctl driver has registered 0000:18:00.0"), "\(t)")
            #expect(t.contains("nova-core's fwctl driver") && t.contains("not upstream yet"), "\(t)")
        }
    }

    @Test func theGPUsFwctlDeviceIsFound() throws {
        let root = try realLookingHost(.upstream)
        let d = try FwctlLocator.device(for: h100PF, root: root)
        #expect(d.name == "fwctl0" && d.node == "dev/fwctl/fwctl0" && d.parent == h100PF.description)
        // The simulated node is a plain file: the real ioctl says it is no fwctl device.
        let t = try FwctlIoctlTransport.open(root: root, pci: h100PF)
        defer { t.close() }
        #expect(throws: ControlChannelError.self) { _ = try t.info() }
    }
}
