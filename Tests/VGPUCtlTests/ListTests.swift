import Foundation
import HostKit
import TestSupport
import Testing

/// `vgpuctl list` against the real `lspci` (pciutils) on every simulated model and on this
/// machine's own /sys.
@Suite struct ListTests {
    /// `lspci -D -n` lines: `0000:01:00.0 0302: 10de:2331 (rev a1)` -> address -> "vendor:device".
    static func lspciIDs(_ output: String) -> [String: String] {
        var out: [String: String] = [:]
        for line in output.split(separator: "\n") {
            let f = line.split(separator: " ")
            guard f.count >= 3 else { continue }
            out[String(f[0])] = String(f[2])
        }
        return out
    }

    struct Listed: Decodable {
        struct Device: Decodable {
            var address: String
            var vendorID: String
            var deviceID: String
            var `class`: String
            var name: String
            var driver: String?
            var iommuGroup: Int?
            var numaNode: Int
            var sriov: SRIOV?
            var physfn: String?
            var grace: Bool
            var vfioDriver: String?
        }
        struct SRIOV: Decodable {
            var totalVFs: Int
            var numVFs: Int
            var vfs: [String]
        }
        struct EGM: Decodable {
            var pxm: Int
            var size: UInt64
            var gpus: [String]
        }
        var devices: [Device]
        var egm: [EGM]
    }

    static func lspci() throws -> String {
        try #require(TestSupport.which("lspci"), "lspci is missing: install pciutils (apt-get install -y pciutils)")
    }

    @Test(arguments: ["gh200x4", "gb200x4", "h100x8", "mixed"])
    func listAllAgreesWithLspci(model: String) throws {
        let lspci = try Self.lspci()
        let root = try TestSupport.simHost(model)
        let r = try TestSupport.vgpuctl(["--root", root.path, "list", "--all", "--json"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let listed = try JSONDecoder().decode(Listed.self, from: Data(r.stdout.utf8))
        let l = try TestSupport.run(
            lspci, ["-A", "linux-sysfs", "-O", "sysfs.path=\(root.path)/sys/bus/pci", "-D", "-n"])
        #expect(l.status == 0, "lspci failed: \(l.stderr)")
        let expected = Self.lspciIDs(l.stdout)
        #expect(!expected.isEmpty)
        let ours = Dictionary(
            uniqueKeysWithValues: listed.devices.map { ($0.address, "\($0.vendorID):\($0.deviceID)") })
        #expect(ours == expected)
    }

    @Test func listAllAgreesWithLspciOnThisMachinesSys() throws {
        let lspci = try Self.lspci()
        let r = try TestSupport.vgpuctl(["list", "--all", "--json"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let listed = try JSONDecoder().decode(Listed.self, from: Data(r.stdout.utf8))
        let l = try TestSupport.run(lspci, ["-D", "-n"])
        #expect(l.status == 0, "lspci failed: \(l.stderr)")
        let ours = Dictionary(
            uniqueKeysWithValues: listed.devices.map { ($0.address, "\($0.vendorID):\($0.deviceID)") })
        #expect(ours == Self.lspciIDs(l.stdout))
        #expect(!ours.isEmpty, "this machine shows no PCI devices in /sys/bus/pci/devices")
    }

    @Test func defaultListShowsGPUsTheirVFsAndGroupCompanions() throws {
        let root = try TestSupport.simHost("mixed")
        // Enable two VFs on the first H100 through the simulated kernel.
        let k = HostSimKernel(root)
        try k.write("2", to: .sriovNumVFs(PCIAddress("0000:01:00.0")!))
        let r = try TestSupport.vgpuctl(["--root", root.path, "list", "--json"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let listed = try JSONDecoder().decode(Listed.self, from: Data(r.stdout.utf8))
        #expect(
            listed.devices.map(\.address) == [
                "0000:01:00.0", "0000:01:00.4", "0000:01:00.5", "0000:02:00.0", "0000:03:00.0", "0000:03:00.1",
            ])
        let pf = try #require(listed.devices.first)
        #expect(pf.sriov?.totalVFs == 32 && pf.sriov?.numVFs == 2 && pf.sriov?.vfs == ["0000:01:00.4", "0000:01:00.5"])
        #expect(pf.physfn == nil && pf.driver == "nvidia" && pf.vfioDriver == "vfio-pci")
        #expect(listed.devices[1].physfn == "0000:01:00.0" && listed.devices[1].sriov == nil)
        let audio = try #require(listed.devices.last)
        #expect(audio.class == "040300" && audio.iommuGroup == listed.devices[4].iommuGroup)
        // The NIC is neither a GPU nor in a GPU's group.
        #expect(!listed.devices.contains { $0.vendorID == "8086" })
    }

    @Test func graceGPUsAndEGMRegionsAreMarked() throws {
        let root = try TestSupport.simHost("gh200x4")
        let r = try TestSupport.vgpuctl(["--root", root.path, "list", "--json"])
        let listed = try JSONDecoder().decode(Listed.self, from: Data(r.stdout.utf8))
        #expect(listed.devices.count == 4)
        #expect(listed.devices.allSatisfy { $0.grace && $0.vfioDriver == "nvgrace_gpu_vfio_pci" })
        #expect(listed.egm.map(\.pxm) == [4, 5, 6, 7])
        #expect(listed.egm[1].gpus == ["0019:01:00.0"] && listed.egm[1].size == 0x64_0000_0000)
        let table = try TestSupport.vgpuctl(["--root", root.path, "list"])
        #expect(table.stdout.contains("nvgrace_gpu_vfio_pci") && table.stdout.contains("/dev/egm4"))
    }

    @Test func rootFromTheEnvironment() throws {
        let root = try TestSupport.simHost("gb200x4")
        let r = try TestSupport.vgpuctl(["list", "--json"], environment: ["VGPUCTL_ROOT": root.path])
        #expect(r.status == 0)
        #expect(r.stdout.contains("0019:01:00.0"))
    }

    @Test func unboundDeviceHasNullDriver() throws {
        let root = try TestSupport.simHost("mixed")
        try HostSimKernel(root).write("0000:02:00.0", to: .unbind(driver: "nvidia"))
        let r = try TestSupport.vgpuctl(["--root", root.path, "list", "--json"])
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let devs = try #require(obj["devices"] as? [[String: Any]])
        let d = try #require(devs.first { $0["address"] as? String == "0000:02:00.0" })
        #expect(d["driver"] is NSNull)
        #expect(d["physfn"] is NSNull)
    }
}

@Suite struct UnprivilegedListTests {
    /// Reading works unprivileged on a real host: `list` as user nobody on this machine's /sys.
    @Test func listWorksUnprivilegedOnThisMachinesSys() throws {
        let setpriv = try #require(
            TestSupport.which("setpriv"), "setpriv (util-linux) is needed to run vgpuctl as another user")
        let r = try TestSupport.run(
            setpriv,
            ["--reuid=65534", "--regid=65534", "--clear-groups", TestSupport.vgpuctl, "list", "--all", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let l = try TestSupport.run(try ListTests.lspci(), ["-D", "-n"])
        let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let addrs = Set(((obj?["devices"] as? [[String: Any]]) ?? []).compactMap { $0["address"] as? String })
        #expect(addrs == Set(ListTests.lspciIDs(l.stdout).keys))
    }
}
