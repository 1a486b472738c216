import Foundation
import HostKit
import TestSupport
import Testing

/// The real H200 capture (`shared/data/h200-vm`: one H200 passed whole into a VM with no IOMMU
/// and SR-IOV hidden) as a `--root`, in a writable copy with its links restored
/// (`HostTrees.h200Copy`).
@Suite(.serialized) struct H200CaptureTests {
    func vg(_ root: HostRoot, _ args: [String]) throws -> TestSupport.Result {
        try TestSupport.vgpuctl(args + ["--root", root.path])
    }

    func config(_ mode: String) throws -> String {
        let path = TestSupport.tempDir("cfg") + "/host.yaml"
        try "version: 1\nconfigs:\n  default:\n    - select: {address: \"0000:00:06.0\"}\n      mode: \(mode)\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// `lspci -D -n` lines: address, class, vendor:device.
    static func lspciLines(_ text: String) -> [String] {
        text.split(separator: "\n").map { line in
            let f = line.split(separator: " ")
            return "\(f[0]) \(f[1].dropLast()) \(f[2])"
        }
    }

    @Test func listAgreesWithTheCapturedAndTheRealLspci() throws {
        let root = try HostTrees.h200Copy()
        let r = try vg(root, ["list", "--all", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        struct Out: Decodable {
            var devices: [D]
            struct D: Decodable {
                var address: String
                var `class`: String
                var vendorID: String
                var deviceID: String
                var inUse: Bool
            }
        }
        let ours = try JSONDecoder().decode(Out.self, from: Data(r.stdout.utf8)).devices
            .map { "\($0.address) \($0.class.prefix(4)) \($0.vendorID):\($0.deviceID)" }
        let captured = Self.lspciLines(
            try String(contentsOfFile: HostTrees.h200Capture + "/lspci-D-n.txt", encoding: .utf8))
        #expect(captured.count == 7)
        #expect(ours == captured, "ours \(ours)\ncaptured \(captured)")
        let lspci = try #require(
            TestSupport.which("lspci"), "pciutils is not installed (Tests/run-tests.sh installs it)")
        let real = try TestSupport.run(
            lspci, ["-A", "linux-sysfs", "-O", "sysfs.path=\(root.path)/sys/bus/pci", "-D", "-n"])
        #expect(real.status == 0, "\(real.stderr)")
        #expect(Self.lspciLines(real.stdout) == captured)
    }

    @Test func profileListShowsTheGPUsOwnNumbers() throws {
        let root = try HostTrees.h200Copy()
        let r = try vg(root, ["profile", "list", "0000:00:06.0", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        // nvidia-smi-q.txt: 143771 MiB total, 616 MiB reserved; nvidia-smi-mig-lgip.txt: the
        // GPU instances' memory.
        #expect(r.stdout.contains("143155"), "usable frame buffer 143771 - 616: \(r.stdout.prefix(600))")
        for (type, mib) in [("H200X-1-18C", 16384), ("H200X-2-35C", 33280), ("H200X-4-71C", 71424)] {
            let text = try vg(root, ["profile", "list", "0000:00:06.0"]).stdout
            let line = text.split(separator: "\n").first { $0.hasPrefix(type + " ") }
            #expect(
                line?.split(separator: " ", omittingEmptySubsequences: true).dropFirst(2).first
                    == Substring(String(mib)), "\(type): \(line ?? "missing")")
        }
    }

    @Test func planSaysTheIOMMUIsOffAndApplyStopsBeforeAnyWrite() throws {
        let root = try HostTrees.h200Copy()
        let cfg = try config("passthrough")
        let plan = try vg(root, ["plan", "-f", cfg])
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(
            plan.stdout.contains("cannot assign 0000:00:06.0 to its VFIO driver: the IOMMU is off"), "\(plan.stdout)")
        let before = TestSupport.fingerprint(root.path)
        let apply = try vg(root, ["apply", "-f", cfg])
        #expect(apply.status == 1, "\(apply.stderr)")
        #expect(
            apply.stderr.contains("the IOMMU is off") && apply.stderr.contains("intel_iommu=on")
                && apply.stderr.contains("nothing was changed"), "\(apply.stderr)")
        #expect(apply.stderr.split(separator: "\n").count == 1)
        // The only new files are vgpuctl's own run state: the host-wide lock every mutating
        // command takes (/run/vgpuctl.lock) and the change notice watchers read (/run/vgpuctl/changed).
        var after = TestSupport.fingerprint(root.path)
        after.removeValue(forKey: "run/vgpuctl.lock")
        for k in after.keys where k == "run/vgpuctl" || k.hasPrefix("run/vgpuctl/") { after.removeValue(forKey: k) }
        if before["run"] == nil { after.removeValue(forKey: "run") }
        #expect(
            Set(after.keys).symmetricDifference(before.keys).isEmpty,
            "files added or removed: \(Set(after.keys).symmetricDifference(before.keys).sorted())")
        #expect(after == before, "apply wrote to the host")
    }

    @Test func vgpuModeIsRefusedBecauseSRIOVIsHidden() throws {
        let root = try HostTrees.h200Copy()
        let path = TestSupport.tempDir("cfg") + "/host.yaml"
        try
            "version: 1\nconfigs:\n  default:\n    - select: {address: \"0000:00:06.0\"}\n      mode: vgpu\n      vfs: 4\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let r = try vg(root, ["plan", "-f", path])
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains("0000:00:06.0") && r.stderr.contains("no SR-IOV capability"), "\(r.stderr)")
    }

    @Test func planJSONListsTheProcessHoldingTheGPUNode() throws {
        let root = try HostTrees.h200Copy()
        try FileManager.default.createDirectory(atPath: root.url("dev"), withIntermediateDirectories: true)
        for n in ["nvidia0", "nvidiactl", "nvidia-uvm"] {
            try "".write(toFile: root.url("dev/\(n)"), atomically: true, encoding: .utf8)
        }
        let job = try HostTrees.Holder(
            root: root, files: ["nvidia0", "nvidiactl", "nvidia-uvm"].map { root.url("dev/\($0)") },
            executableName: "python3")
        defer { job.stop() }
        let r = try vg(root, ["plan", "-f", try config("passthrough"), "--json"])
        #expect(r.status == 0, "\(r.stderr)")
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
        let users = try JSONDecoder().decode(Plan.self, from: Data(r.stdout.utf8)).devices.first?.inUseBy ?? []
        #expect(
            users.count == 1 && users.first?.pid == job.pid && users.first?.command == "python3"
                && users.first?.file == "/dev/nvidia0" && users.first?.certainty == "certain", "\(r.stdout)")
        let list = try vg(root, ["list"])
        #expect(list.stdout.contains("\(job.pid) python3"), "\(list.stdout)")
    }
}
