import Foundation
import Glibc
import HostKit
import TestSupport
import Testing

/// DeviceUsage with real processes: each holder is a running `sleep` that opened files under a
/// test root (visible there as `proc/<pid>`, a link to the kernel's `/proc/<pid>`), or this test
/// process mapping a file that stands for a BAR.
@Suite(.serialized) struct DeviceUsageTests {
    let fm = FileManager.default

    /// A one-device tree: `sys/devices/pci0000:00/0000:00:02.0` (an NVMe-like function with a
    /// char node `nvme0`, a block node `nvme0n1` and a partition, an interface `eth9`), linked
    /// from `sys/bus/pci/devices`.
    func tree() throws -> (HostRoot, String) {
        let root = HostRoot(TestSupport.tempDir("usage") + "/host")
        let dev = "sys/devices/pci0000:00/0000:00:02.0"
        for d in [
            "\(dev)/nvme/nvme0/nvme0n1/nvme0n1p1", "\(dev)/net/eth9", "sys/bus/pci/devices", "sys/class/block", "dev",
            "proc/self",
        ] {
            try fm.createDirectory(atPath: root.url(d), withIntermediateDirectories: true)
        }
        try fm.createSymbolicLink(
            atPath: root.url("sys/bus/pci/devices/0000:00:02.0"),
            withDestinationPath: "../../../devices/pci0000:00/0000:00:02.0")
        // Real device numbers of this machine's memory devices, so a node made with mknod under
        // the root can be opened: 1:5 (zero) stands for the char node, 1:7 (full) for the disk.
        try "1:5\n".write(toFile: root.url("\(dev)/nvme/nvme0/dev"), atomically: true, encoding: .utf8)
        try "259:0\n".write(toFile: root.url("\(dev)/nvme/nvme0/nvme0n1/dev"), atomically: true, encoding: .utf8)
        try "259:1\n".write(
            toFile: root.url("\(dev)/nvme/nvme0/nvme0n1/nvme0n1p1/dev"), atomically: true, encoding: .utf8)
        try fm.createSymbolicLink(
            atPath: root.url("\(dev)/nvme/nvme0/nvme0n1/subsystem"), withDestinationPath: root.url("sys/class/block"))
        try fm.createSymbolicLink(
            atPath: root.url("\(dev)/nvme/nvme0/nvme0n1/nvme0n1p1/subsystem"),
            withDestinationPath: root.url("sys/class/block"))
        try "0x1002\n".write(toFile: root.url("\(dev)/net/eth9/flags"), atomically: true, encoding: .utf8)  // down
        return (root, dev)
    }

    func mknodChar(_ path: String, _ major: UInt32, _ minor: UInt32) throws {
        let rc = mknod(path, S_IFCHR | 0o600, dev_t((UInt64(major) << 8) | UInt64(minor)))  // major, minor < 256
        try #require(rc == 0, "mknod \(path): errno \(errno) (the tests run as root)")
    }

    let a = PCIAddress("0000:00:02.0")!

    @Test func aNodeIsMatchedByDeviceNumberNotByName() throws {
        let (root, _) = try tree()
        // The node has another name than the kernel's: only its number ties it to nvme0.
        try mknodChar(root.url("dev/some-other-name"), 1, 5)
        let holder = try HostTrees.Holder(root: root, files: [root.url("dev/some-other-name")])
        defer { holder.stop() }
        let users = DeviceUsage(root: root).users(of: a)
        #expect(users.count == 1, "\(users)")
        #expect(
            users.first?.pid == holder.pid && users.first?.command == "sleep"
                && users.first?.file == "/dev/some-other-name")
        #expect(users.first?.certainty == .certain && users.first?.kind == .process)
        holder.stop()
        try fm.removeItem(atPath: root.url("proc/\(holder.pid)"))
        #expect(DeviceUsage(root: root).users(of: a).isEmpty, "no user once the process is gone")
    }

    @Test func anUnrelatedOpenFileIsNotAUser() throws {
        let (root, _) = try tree()
        try mknodChar(root.url("dev/null-like"), 1, 3)  // 1:3 is no node of the device
        try "x".write(toFile: root.url("dev/plain"), atomically: true, encoding: .utf8)
        let holder = try HostTrees.Holder(root: root, files: [root.url("dev/null-like"), root.url("dev/plain")])
        defer { holder.stop() }
        #expect(DeviceUsage(root: root).users(of: a).isEmpty)
    }

    @Test func aMappedBARNamesTheProcess() throws {
        let (root, dev) = try tree()
        let bar = root.url("\(dev)/resource0")
        try Data(count: 8192).write(to: URL(fileURLWithPath: bar))
        let fd = open(bar, O_RDWR)
        try #require(fd >= 0)
        defer { close(fd) }
        let p = mmap(nil, 4096, PROT_READ, MAP_SHARED, fd, 0)
        try #require(p != MAP_FAILED)
        defer { munmap(p, 4096) }
        let me = Int(getpid())
        try fm.createSymbolicLink(atPath: root.url("proc/\(me)"), withDestinationPath: "/proc/\(me)")
        let users = DeviceUsage(root: root).users(of: a)
        let mine = users.filter { $0.pid == me }
        #expect(mine.count == 1, "\(users)")
        #expect(mine.first?.how == "mapped" && mine.first?.file == "/\(dev)/resource0")
    }

    @Test func kernelUsersMountHolderAndInterface() throws {
        let (root, dev) = try tree()
        try "36 25 259:1 / /srv rw,relatime shared:1 - ext4 /dev/nvme0n1p1 rw\n".write(
            toFile: root.url("proc/self/mountinfo"), atomically: true, encoding: .utf8)
        try fm.createDirectory(
            atPath: root.url("\(dev)/nvme/nvme0/nvme0n1/holders/dm-0"), withIntermediateDirectories: true)
        try "0x1003\n".write(toFile: root.url("\(dev)/net/eth9/flags"), atomically: true, encoding: .utf8)  // IFF_UP
        let users = DeviceUsage(root: root).users(of: a)
        #expect(
            users.contains { $0.kind == .kernel && $0.file == "/dev/nvme0n1p1" && $0.how == "is mounted at /srv" },
            "\(users)")
        #expect(
            users.contains { $0.kind == .kernel && $0.file == "/dev/nvme0n1" && $0.how == "is held by dm-0" },
            "\(users)")
        #expect(users.contains { $0.kind == .kernel && $0.file == "eth9" && $0.how == "is up" }, "\(users)")
        // Interface down (IFF_UP clear), nothing mounted, no holder: no kernel user.
        try "0x1002\n".write(toFile: root.url("\(dev)/net/eth9/flags"), atomically: true, encoding: .utf8)
        try "".write(toFile: root.url("proc/self/mountinfo"), atomically: true, encoding: .utf8)
        try fm.removeItem(atPath: root.url("\(dev)/nvme/nvme0/nvme0n1/holders/dm-0"))
        #expect(DeviceUsage(root: root).users(of: a).isEmpty)
    }

    @Test func h200CaptureACUDAProgramIsCertainAndDriverWideNodesArePossible() throws {
        let root = try HostTrees.h200Copy()
        let gpu = PCIAddress("0000:00:06.0")!
        try fm.createDirectory(atPath: root.url("dev/nvidia-caps"), withIntermediateDirectories: true)
        // Regular files stand for the nodes (this machine has no NVIDIA driver to open them),
        // matched by (st_dev, st_ino) and by path.
        for n in ["nvidia0", "nvidiactl", "nvidia-uvm", "nvidia-caps/nvidia-cap1", "nvidia-caps/nvidia-cap2"] {
            try "".write(toFile: root.url("dev/\(n)"), atomically: true, encoding: .utf8)
        }
        // As in cuda-job-open-files.txt: the GPU's node and every driver-wide node.
        let cuda = try HostTrees.Holder(
            root: root,
            files: ["nvidia0", "nvidiactl", "nvidia-uvm", "nvidia-caps/nvidia-cap1", "nvidia-caps/nvidia-cap2"].map {
                root.url("dev/\($0)")
            }, executableName: "python3")
        defer { cuda.stop() }
        // nvidia-smi-like: driver-wide nodes only.
        let smi = try HostTrees.Holder(
            root: root, files: [root.url("dev/nvidiactl"), root.url("dev/nvidia-caps/nvidia-cap2")],
            executableName: "nvidia-smi")
        defer { smi.stop() }
        let daemon = try HostTrees.Holder(
            root: root, files: [root.url("dev/nvidia0")], executableName: "nvidia-persistenced")
        defer { daemon.stop() }
        let users = DeviceUsage(root: root).users(of: gpu)
        let c = users.filter { $0.pid == cuda.pid }
        #expect(
            c.count == 1 && c.first?.certainty == .certain && c.first?.file == "/dev/nvidia0"
                && c.first?.command == "python3", "\(users)")
        let s = users.filter { $0.pid == smi.pid }
        #expect(!s.isEmpty && s.allSatisfy { $0.certainty == .possible }, "\(users)")
        #expect(s.first?.description.contains("may be using a GPU") == true)
        let d = users.filter { $0.pid == daemon.pid }
        #expect(d.first?.kind == .nvidiaDaemon && d.first?.command == "nvidia-persistenced", "\(users)")
        #expect(d.first?.advice.contains("systemctl stop nvidia-persistenced") == true)
        // Refusal names every certain user, not the possible one.
        let r = try #require(DeviceUser.refusal("0000:00:06.0", users, doing: "unbinding nvidia"))
        #expect(
            r.status == .refused && r.message.contains("pid \(cuda.pid) (python3)")
                && !r.message.contains("pid \(smi.pid)"))
    }

    @Test func migInstanceCapsOfTheGPUAreItsOwn() throws {
        let root = try HostTrees.h200Copy()
        let gpu = PCIAddress("0000:00:06.0")!
        let gi = root.url("proc/driver/nvidia/capabilities/gpu0/mig/gi1")
        try fm.createDirectory(atPath: gi + "/ci0", withIntermediateDirectories: true)
        try "DeviceFileMinor: 12\nDeviceFileMode: 292\nDeviceFileModify: 1\n".write(
            toFile: gi + "/access", atomically: true, encoding: .utf8)
        try "DeviceFileMinor: 13\nDeviceFileMode: 292\nDeviceFileModify: 1\n".write(
            toFile: gi + "/ci0/access", atomically: true, encoding: .utf8)
        try fm.createDirectory(atPath: root.url("dev/nvidia-caps"), withIntermediateDirectories: true)
        try "".write(toFile: root.url("dev/nvidia-caps/nvidia-cap13"), atomically: true, encoding: .utf8)
        let job = try HostTrees.Holder(root: root, files: [root.url("dev/nvidia-caps/nvidia-cap13")])
        defer { job.stop() }
        let users = DeviceUsage(root: root).users(of: gpu)
        #expect(users.first { $0.pid == job.pid }?.certainty == .certain, "\(users)")
    }

    /// A function bound to VFIO: its group file and its VFIO cdev (`vfio-dev/vfio3`, found by the
    /// subtree walk) are its files, held open by a VMM. Asking with the devices as `list` read
    /// them gives what asking by address gives.
    @Test func theVFIOGroupAndCdevHeldOpenNameTheVMMWhicheverWayAsked() throws {
        let (root, dev) = try tree()
        try fm.createDirectory(atPath: root.url("\(dev)/vfio-dev/vfio3"), withIntermediateDirectories: true)
        try "1:5\n".write(toFile: root.url("\(dev)/vfio-dev/vfio3/dev"), atomically: true, encoding: .utf8)
        try fm.createDirectory(atPath: root.url("sys/kernel/iommu_groups/7"), withIntermediateDirectories: true)
        try fm.createSymbolicLink(
            atPath: root.url("\(dev)/iommu_group"), withDestinationPath: "../../../kernel/iommu_groups/7")
        try fm.createDirectory(atPath: root.url("dev/vfio/devices"), withIntermediateDirectories: true)
        // Regular files stand for the nodes: matched by path and by (st_dev, st_ino).
        try "".write(toFile: root.url("dev/vfio/7"), atomically: true, encoding: .utf8)
        try "".write(toFile: root.url("dev/vfio/devices/vfio3"), atomically: true, encoding: .utf8)
        let group = try HostTrees.Holder(root: root, files: [root.url("dev/vfio/7")], executableName: "qemu-a")
        defer { group.stop() }
        let cdev = try HostTrees.Holder(
            root: root, files: [root.url("dev/vfio/devices/vfio3")], executableName: "qemu-b")
        defer { cdev.stop() }
        let usage = DeviceUsage(root: root)
        let byAddress = usage.users(of: a)
        #expect(
            byAddress.map { "\($0.pid ?? -1) \($0.command) \($0.file)" }.sorted()
                == ["\(group.pid) qemu-a /dev/vfio/7", "\(cdev.pid) qemu-b /dev/vfio/devices/vfio3"].sorted(),
            "\(byAddress)")
        let device = try #require(SysfsReader(root: root).device(a))
        #expect(device.iommuGroup == 7 && device.canonicalPath == dev && !device.entries.isEmpty)
        #expect(usage.users(of: [device])[a] == byAddress)
        // The one pass over proc for every VFIO file finds both, as asking for the device's files.
        let sysfs = SysfsReader(root: root)
        let vfio = sysfs.vfioHolders()
        #expect(
            Set(vfio.map { "\($0.pid) \($0.command) \($0.file)" })
                == ["\(group.pid) qemu-a /dev/vfio/7", "\(cdev.pid) qemu-b /dev/vfio/devices/vfio3"], "\(vfio)")
        #expect(vfio == sysfs.holders(of: sysfs.vfioFiles(a)))
        #expect(vfio == sysfs.holders(of: sysfs.vfioFiles(device)))
    }

    /// `sys/bus/pci/devices/<BDF>` as a plain directory (no link to `sys/devices`): the device is
    /// still walked there, and its node still found.
    @Test func aDeviceDirectoryThatIsNoLinkIsStillWalked() throws {
        let root = HostRoot(TestSupport.tempDir("usage-nolink") + "/host")
        let dir = "sys/bus/pci/devices/0000:00:02.0"
        try fm.createDirectory(atPath: root.url("\(dir)/drm/card4"), withIntermediateDirectories: true)
        try fm.createDirectory(atPath: root.url("proc/self"), withIntermediateDirectories: true)
        try "1:5\n".write(toFile: root.url("\(dir)/drm/card4/dev"), atomically: true, encoding: .utf8)
        try fm.createDirectory(atPath: root.url("dev"), withIntermediateDirectories: true)
        try mknodChar(root.url("dev/card4"), 1, 5)
        let holder = try HostTrees.Holder(root: root, files: [root.url("dev/card4")])
        defer { holder.stop() }
        let device = try #require(SysfsReader(root: root).device(a))
        #expect(device.canonicalPath == nil)
        let users = DeviceUsage(root: root).users(of: [device])[a] ?? []
        #expect(users.map(\.pid) == [holder.pid], "\(users)")
    }
}
