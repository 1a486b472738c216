import Fleet
import Foundation
import HostKit
import TestSupport
import Testing

/// `vgpuctl export nova` on simulated hosts, read back as INI with JSON values.
@Suite struct NovaExportTests {
    /// A minimal INI reader: `[section]`, `key = value` (keys may repeat, as oslo.config's
    /// MultiStrOpt allows), `#` comments. Fails on any other line.
    static func ini(_ text: String) throws -> [String: [(String, String)]] {
        var out: [String: [(String, String)]] = [:]
        var section: String?
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                section = String(line.dropFirst().dropLast())
                out[section!, default: []] = []
                continue
            }
            guard let s = section, let eq = line.firstIndex(of: "=") else {
                throw HostTrees.Failure("line \(n + 1) is not INI: \(line)")
            }
            out[s, default: []].append(
                (
                    line[..<eq].trimmingCharacters(in: .whitespaces),
                    line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
                ))
        }
        return out
    }

    static func json(_ s: String) throws -> [String: String] {
        try #require(
            try JSONSerialization.jsonObject(with: Data(s.utf8)) as? [String: String],
            "not a JSON object of strings: \(s)")
    }

    static func host(_ interface: String) throws -> String {
        let dir = TestSupport.tempDir("nova") + "/host"
        let c = try TestSupport.vgpuctl(["sim", "create", dir, "--model", "h100x8", "--vgpu-interface", interface])
        #expect(c.status == 0, "\(c.stderr)")
        return dir
    }

    @Test func vendorVFsGetOneDeviceSpecEachAndOneAliasPerType() throws {
        let dir = try Self.host("vendor")
        let cfg = TestSupport.tempDir("nova-cfg") + "/host.yaml"
        try
            "version: 1\nconfigs:\n  a:\n    - select: {address: \"0000:18:00.0\"}\n      mode: vgpu\n      types: {H100XM-20C: 2, H100XM-10C: 2}\n"
            .write(toFile: cfg, atomically: true, encoding: .utf8)
        let a = try TestSupport.vgpuctl(["--root", dir, "apply", "-f", cfg])
        #expect(a.status == 0, "\(a.stderr)")
        let r = try TestSupport.vgpuctl(["--root", dir, "export", "nova"])
        #expect(r.status == 0, "\(r.stderr)")
        let conf = try Self.ini(r.stdout)
        let pci = try #require(conf["pci"], "\(r.stdout)")
        let specs = try pci.filter { $0.0 == "device_spec" }.map { try Self.json($0.1) }
        let aliases = try pci.filter { $0.0 == "alias" }.map { try Self.json($0.1) }
        // The VFs and their types as the driver shows them.
        let sysfs = SysfsReader(root: HostRoot(dir))
        let vfs = sysfs.device(try #require(PCIAddress("0000:18:00.0")))?.sriov?.vfs ?? []
        #expect(vfs.count == 4)
        #expect(specs.count == 4, "\(r.stdout)")
        #expect(Set(specs.compactMap { $0["address"] }) == Set(vfs.map(\.description)))
        for spec in specs {
            let managed: String? = spec["managed"]
            let vendor: String? = spec["vendor_id"]
            let product: String? = spec["product_id"]
            #expect(managed == "no" && vendor == "10de" && product != nil, "\(spec)")
        }
        #expect(Set(specs.compactMap { $0["resource_class"] }) == ["CUSTOM_H100XM_20C", "CUSTOM_H100XM_10C"])
        #expect(specs.filter { $0["resource_class"] == "CUSTOM_H100XM_20C" }.count == 2)
        #expect(aliases.count == 2 && aliases.allSatisfy { $0["device_type"] == "type-VF" }, "\(aliases)")
        #expect(Set(aliases.compactMap { $0["name"] }) == ["H100XM-20C", "H100XM-10C"])
        #expect(pci.contains { $0.0 == "report_in_placement" && $0.1 == "True" })
    }

    @Test func mdevHostGetsEnabledTypesAndDeviceAddresses() throws {
        let dir = try Self.host("mdev")
        let example = TestSupport.sharedFile("data/vgpu-device-manager-config-example.yaml")
        let a = try TestSupport.vgpuctl(["--root", dir, "apply", "-f", example, "-c", "H100XM-20C"])
        #expect(a.status == 0, "\(a.stderr)")
        let r = try TestSupport.vgpuctl(["--root", dir, "export", "nova"])
        let conf = try Self.ini(r.stdout)
        let types = try #require(conf["devices"]?.first { $0.0 == "enabled_mdev_types" }?.1, "\(r.stdout)")
        #expect(types.hasPrefix("nvidia-") && !types.contains(","), "\(types)")
        let section = try #require(conf["mdev_\(types)"], "\(r.stdout)")
        let line: String = section.first { $0.0 == "device_addresses" }?.1 ?? ""
        let addresses: [String] = line.split(separator: ",").map(String.init)
        #expect(addresses.count == 32 && addresses.allSatisfy { PCIAddress($0) != nil }, "\(addresses)")
        #expect(section.contains { $0.0 == "max_instances" && $0.1 == "1" })
        #expect(conf["pci"] == nil)
    }

    @Test func passthroughGPUGetsADeviceSpecAndNVIDIAName() throws {
        let dir = try Self.host("none")
        #expect(try TestSupport.vgpuctl(["--root", dir, "passthrough", "assign", "0000:18:00.0"]).status == 0)
        let r = try TestSupport.vgpuctl(["--root", dir, "export", "nova"])
        let conf = try Self.ini(r.stdout)
        let specs = try (conf["pci"] ?? []).filter { $0.0 == "device_spec" }.map { try Self.json($0.1) }
        #expect(
            specs.count == 1 && specs.first?["address"] == "0000:18:00.0" && specs.first?["product_id"] == "2330",
            "\(r.stdout)")
        let alias = try (conf["pci"] ?? []).filter { $0.0 == "alias" }.map { try Self.json($0.1) }
        // NVIDIA's rule applied to the name the machine's PCI id database gives (Debian 12's
        // pci.ids spells it "GH100[H100 SXM5 80GB]", newer ones "GH100 [H100 SXM5 80GB]").
        let list = try TestSupport.vgpuctl(["--root", dir, "list", "--device", "0000:18:00.0", "--json"])
        let devices =
            (try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [String: Any])?["devices"]
            as? [[String: Any]]
        let pciName = try #require(devices?.first?["name"] as? String, "\(list.stdout)")
        let expected = ResourceNames.deviceName(pciName, deviceID: 0x2330)
        #expect(expected.hasPrefix("GH100") && expected.hasSuffix("H100_SXM5_80GB"), "\(pciName) -> \(expected)")
        #expect(alias.first?["name"] == expected && alias.first?["device_type"] == "type-PCI", "\(alias)")
        #expect(specs.first?["resource_class"] == NovaConfig.resourceClass(expected))
    }

    /// `export nova -f FILE -c NAME` says, before the apply and changing nothing, what `export
    /// nova` says after it: for typed VFs (vendor), mdev vGPUs, generic VFs handed to vfio-pci
    /// and a passthrough GPU, on one config each, from a fresh host and from a host already
    /// holding another config.
    @Test(arguments: [
        ("vendor", "", "b"), ("mdev", "", "b"), ("none", "", "c"), ("vendor", "a", "b"), ("mdev", "a", "b"),
        ("vendor", "b", "d"), ("mdev", "b", "d"),
    ])
    func exportWithAConfigShowsTheHostAsTheApplyLeavesIt(interface: String, start: String, target: String) throws {
        let dir = try Self.host(interface)
        let cfg = TestSupport.tempDir("nova-cfg") + "/host.yaml"
        try """
        version: 1
        configs:
          a:
            - select: {address: "0000:18:00.0"}
              mode: vgpu
              vfs: 4
              types: {H100XM-40C: 1}
          b:
            - select: {address: "0000:18:00.0"}
              mode: vgpu
              types: {H100XM-20C: 2, H100XM-10C: 2}
            - select: {address: "0000:19:00.0"}
              mode: passthrough
          c:
            - select: {address: "0000:18:00.0"}
              mode: vgpu
              vfs: 3
              vfioHandoff: true
            - select: {address: "0000:19:00.0"}
              mode: passthrough
          d:
            - select: {address: "0000:18:00.0"}
              mode: vgpu
              vfs: 4
              types: {H100XM-20C: 1}
            - select: {address: "0000:19:00.0"}
              mode: host
        """.write(toFile: cfg, atomically: true, encoding: .utf8)
        if !start.isEmpty {
            let first = try TestSupport.vgpuctl(["--root", dir, "apply", "-f", cfg, "-c", start])
            #expect(first.status == 0, "\(first.stderr)")
        }
        let before = try TestSupport.vgpuctl(["--root", dir, "export", "nova"])
        let projected = try TestSupport.vgpuctl(["--root", dir, "export", "nova", "-f", cfg, "-c", target])
        #expect(projected.status == 0, "\(projected.stderr)")
        // Nothing changed: the plain export is as before, and the plan still has steps.
        #expect(try TestSupport.vgpuctl(["--root", dir, "export", "nova"]).stdout == before.stdout)
        let plan = try TestSupport.vgpuctl(["--root", dir, "plan", "-f", cfg, "-c", target])
        #expect(plan.status == 0 && plan.stdout.contains("steps"), "\(plan.stdout)")
        let applied = try TestSupport.vgpuctl(["--root", dir, "apply", "-f", cfg, "-c", target])
        #expect(applied.status == 0, "\(applied.stderr)")
        let after = try TestSupport.vgpuctl(["--root", dir, "export", "nova"])
        #expect(after.status == 0, "\(after.stderr)")
        #expect(projected.stdout == after.stdout)
        // And it says something: the GPU passed through, or the VFs of the first GPU.
        let conf = try Self.ini(projected.stdout)
        #expect(conf["pci"] != nil || conf["devices"] != nil, "\(projected.stdout)")
        #expect(projected.stdout != before.stdout)
    }

    @Test func exportWithAConfigNamesTheBadFileOrConfig() throws {
        let dir = try Self.host("vendor")
        let missing = try TestSupport.vgpuctl(["--root", dir, "export", "nova", "-f", dir + "/no-such.yaml"])
        #expect(missing.status == 2 && missing.stderr.contains("no-such.yaml"), "\(missing.stderr)")
        let noFile = try TestSupport.vgpuctl(["--root", dir, "export", "nova", "-c", "a"])
        #expect(noFile.status != 0 && noFile.stderr.contains("-f FILE"), "\(noFile.stderr)")
    }

    @Test(arguments: [
        ("GH100 [H100 SXM5 80GB]", "GH100_H100_SXM5_80GB"),
        ("GH100 [GH200 120GB / 480GB]", "GH100_GH200_120GB___480GB"),
        ("GA102GL [RTX A6000]", "GA102GL_RTX_A6000"),
        ("AD102GL [L40S]", "AD102GL_L40S"),
    ])
    func nvidiaResourceNames(pciName: String, expected: String) {
        #expect(ResourceNames.deviceName(pciName, deviceID: 0x2330) == expected)
    }

    @Test func kubevirtEnvironmentNames() {
        #expect(ResourceNames.vgpu("H100XM-20C") == "nvidia.com/NVIDIA_H100XM-20C")
        #expect(
            ResourceNames.environmentName("nvidia.com/NVIDIA_H100XM-20C", mdev: false)
                == "PCI_RESOURCE_NVIDIA_COM_NVIDIA_H100XM-20C")
        #expect(
            ResourceNames.environmentName("nvidia.com/GH100_H100_SXM5_80GB", mdev: true)
                == "MDEV_PCI_RESOURCE_NVIDIA_COM_GH100_H100_SXM5_80GB")
        #expect(ResourceNames.deviceName(nil, deviceID: 0x2330) == "2330")
    }

    /// A journal that cannot be read means an apply may be changing any GPU: nothing is
    /// exported as ready, in the text and in `--json` alike, and each device says why.
    @Test func anUnreadableJournalLeavesEveryDeviceOut() throws {
        let dir = try Self.host("vendor")
        let cfg = TestSupport.tempDir("nova-cfg") + "/host.yaml"
        try
            "version: 1\nconfigs:\n  a:\n    - select: {address: \"0000:18:00.0\"}\n      mode: vgpu\n      types: {H100XM-20C: 2}\n"
            .write(toFile: cfg, atomically: true, encoding: .utf8)
        #expect(try TestSupport.vgpuctl(["--root", dir, "apply", "-f", cfg]).status == 0)
        try "{not json".write(
            toFile: HostRoot(dir).url("var/lib/vgpuctl/journal.json"), atomically: true, encoding: .utf8)
        let r = try TestSupport.vgpuctl(["--root", dir, "export", "nova"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!r.stdout.contains("device_spec"), "\(r.stdout)")
        #expect(r.stderr.contains("is left out: vgpuctl's apply journal cannot be read"), "\(r.stderr)")
        let j = try TestSupport.vgpuctl(["--root", dir, "export", "nova", "--json"])
        let out = try #require(
            try JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as? [String: Any], "\(j.stdout)")
        let devices = try #require(out["devices"] as? [[String: Any]])
        #expect(
            devices.count == 2
                && devices.allSatisfy { ($0["unhealthy"] as? String)?.contains("journal cannot be read") == true },
            "\(devices)")
        #expect(!((out["novaConf"] as? String) ?? "device_spec").contains("device_spec"), "\(j.stdout)")
    }
}
