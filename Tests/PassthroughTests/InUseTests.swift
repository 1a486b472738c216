import Foundation
import Glibc
import HostKit
import HostSim
import TestSupport
import Testing

/// Commands that unbind or rebind a function refuse (exit 4) while a real process uses it,
/// name it, change nothing, and proceed with --force.
@Suite(.serialized) struct InUseTests {
    func vg(_ root: HostRoot, _ args: String...) throws -> TestSupport.Result {
        try TestSupport.vgpuctl(["--root", root.path] + args)
    }

    /// The device's own sysfs directory (`sys/devices/...`), relative to the root.
    func sysDir(_ root: HostRoot, _ a: String) throws -> String {
        let real = try #require(realpath(root.url("sys/bus/pci/devices/\(a)"), nil))
        defer { free(real) }
        return root.relative(String(cString: real))
    }

    func driver(_ root: HostRoot, _ a: String) -> String? { SysfsReader(root: root).device(PCIAddress(a)!)?.driver }

    /// The A6000 of the `mixed` host as NVIDIA's driver shows it: minor 0, `/dev/nvidia0`
    /// (a regular file standing for the node, matched by inode under the root).
    func nvidiaNode(_ root: HostRoot) throws {
        let fm = FileManager.default
        try fm.createDirectory(
            atPath: root.url("proc/driver/nvidia/gpus/0000:03:00.0"), withIntermediateDirectories: true)
        try "Model: \t\t NVIDIA RTX A6000\nBus Location: \t 0000:03:00.0\nDevice Minor: \t 0\n"
            .write(
                toFile: root.url("proc/driver/nvidia/gpus/0000:03:00.0/information"), atomically: true, encoding: .utf8)
        try fm.createDirectory(atPath: root.url("dev"), withIntermediateDirectories: true)
        try "".write(toFile: root.url("dev/nvidia0"), atomically: true, encoding: .utf8)
    }

    @Test func assignIsRefusedWhileAProcessHoldsTheGPUNodeAndForceProceeds() throws {
        let root = try TestSupport.simHost("mixed")
        try nvidiaNode(root)
        let job = try HostTrees.Holder(root: root, files: [root.url("dev/nvidia0")])
        defer { job.stop() }
        let before = TestSupport.fingerprint(root.path)
        let r = try vg(root, "passthrough", "assign", "0000:03:00.0")
        #expect(r.status == 4, "\(r.stderr)")
        #expect(
            r.stderr.contains("pid \(job.pid) (sleep)") && r.stderr.contains("/dev/nvidia0")
                && r.stderr.contains("--force"), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(TestSupport.fingerprint(root.path) == before, "a refusal changed the host")
        #expect(driver(root, "0000:03:00.0") == "nvidia")
        let forced = try vg(root, "passthrough", "assign", "0000:03:00.0", "--force")
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(driver(root, "0000:03:00.0") == "vfio-pci")
    }

    @Test func assignIsRefusedWhileAProcessMapsABARAndSucceedsOnceUnmapped() throws {
        let root = try TestSupport.simHost("mixed")
        let canonical = try sysDir(root, "0000:03:00.0")
        let bar = root.url(canonical + "/resource1")
        try Data(count: 8192).write(to: URL(fileURLWithPath: bar))
        let fd = open(bar, O_RDWR)
        try #require(fd >= 0)
        defer { close(fd) }
        let p = try #require(mmap(nil, 4096, PROT_READ, MAP_SHARED, fd, 0))
        try #require(p != MAP_FAILED)
        let me = Int(getpid())
        try FileManager.default.createDirectory(atPath: root.url("proc"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: root.url("proc/\(me)"), withDestinationPath: "/proc/\(me)")
        let before = TestSupport.fingerprint(root.path)
        let r = try vg(root, "passthrough", "assign", "0000:03:00.0")
        #expect(r.status == 4, "\(r.stderr)")
        #expect(
            r.stderr.contains("pid \(me)") && r.stderr.contains("maps") && r.stderr.contains("resource1"), "\(r.stderr)"
        )
        #expect(TestSupport.fingerprint(root.path) == before)
        munmap(p, 4096)
        let ok = try vg(root, "passthrough", "assign", "0000:03:00.0")
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(driver(root, "0000:03:00.0") == "vfio-pci")
    }

    func config(_ text: String) throws -> String {
        let path = TestSupport.tempDir("cfg") + "/host.yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func applyAndPlanNameTheProcessAndForceApplies() throws {
        let root = try TestSupport.simHost("mixed")
        try nvidiaNode(root)
        let cfg = try config(
            "version: 1\nconfigs:\n  default:\n    - select: {address: \"0000:03:00.0\"}\n      mode: passthrough\n")
        let job = try HostTrees.Holder(root: root, files: [root.url("dev/nvidia0")], executableName: "python3")
        defer { job.stop() }
        let before = TestSupport.fingerprint(root.path)
        let plan = try vg(root, "plan", "-f", cfg, "--json")
        #expect(plan.status == 0, "\(plan.stderr)")
        struct Plan: Decodable {
            var devices: [D]
            struct D: Decodable {
                var device: String
                var inUseBy: [U]
            }
            struct U: Decodable {
                var pid: Int?
                var command: String
                var file: String
                var certainty: String
            }
        }
        let decoded = try JSONDecoder().decode(Plan.self, from: Data(plan.stdout.utf8))
        let users = decoded.devices.first { $0.device == "0000:03:00.0" }?.inUseBy ?? []
        #expect(
            users.contains {
                $0.pid == job.pid && $0.command == "python3" && $0.file == "/dev/nvidia0" && $0.certainty == "certain"
            }, "\(plan.stdout)")
        let text = try vg(root, "plan", "-f", cfg)
        #expect(text.stdout.contains("in use: pid \(job.pid) (python3) holds /dev/nvidia0 open"), "\(text.stdout)")
        let assert = try vg(root, "assert", "-f", cfg, "--json")
        #expect(
            assert.status == 1 && assert.stdout.contains("\"inUseBy\"") && assert.stdout.contains("\(job.pid)"),
            "\(assert.stdout)")

        let r = try vg(root, "apply", "-f", cfg)
        #expect(r.status == 4, "\(r.stderr)")
        #expect(r.stderr.contains("pid \(job.pid) (python3)") && r.stderr.contains("--force"), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1)
        #expect(TestSupport.fingerprint(root.path) == before, "a refused apply changed the host")
        let forced = try vg(root, "apply", "-f", cfg, "--force")
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(driver(root, "0000:03:00.0") == "vfio-pci")
    }

    @Test func vfDisableNamesAProcessHoldingAVFNodeUntilItExits() throws {
        let root = try TestSupport.simHost("mixed")
        #expect(try vg(root, "vf", "enable", "0000:01:00.0", "--count", "2").status == 0)
        // A node of the VF (a `dev` file in its sysfs subtree) held by a real process, matched
        // by device number: 1:5 is this machine's /dev/zero, made under the root with mknod.
        let rel = try sysDir(root, "0000:01:00.4")
        try FileManager.default.createDirectory(
            atPath: root.url(rel + "/misc/gpuvf0"), withIntermediateDirectories: true)
        try "1:5\n".write(toFile: root.url(rel + "/misc/gpuvf0/dev"), atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: root.url("dev"), withIntermediateDirectories: true)
        try #require(mknod(root.url("dev/gpuvf0"), S_IFCHR | 0o600, dev_t((1 << 8) | 5)) == 0)
        let job = try HostTrees.Holder(root: root, files: [root.url("dev/gpuvf0")])
        defer { job.stop() }
        let before = TestSupport.fingerprint(root.path)
        let d = try vg(root, "vf", "disable", "0000:01:00.0")
        #expect(
            d.status == 4 && d.stderr.contains("0000:01:00.4") && d.stderr.contains("pid \(job.pid)")
                && d.stderr.contains("/dev/gpuvf0"), "\(d.stderr)")
        #expect(TestSupport.fingerprint(root.path) == before)
        job.stop()
        #expect(try vg(root, "vf", "disable", "0000:01:00.0").status == 0)
    }
}
