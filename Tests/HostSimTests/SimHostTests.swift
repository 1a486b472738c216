import Foundation
import GPUModels
import HostKit
import HostSim
import TestSupport
import Testing

@Suite struct SimHostTests {
    static let models = ["gh200x4", "gb200x4", "h100x8", "mixed"]

    @Test func everyRequiredModelExists() {
        #expect(Set(Models.hostNames()).isSuperset(of: Self.models))
    }

    @Test(arguments: models)
    func treeHasTheFilesRealToolsRead(model: String) throws {
        let root = try TestSupport.simHost(model)
        #expect(root.isSimulated)
        let sysfs = SysfsReader(root: root)
        let devices = sysfs.allDevices()
        #expect(!devices.isEmpty)
        for d in devices {
            let base = HostRoot.device(d.address)
            for f in [
                "vendor", "device", "class", "subsystem_vendor", "subsystem_device", "numa_node", "config", "resource",
                "driver_override",
            ] {
                #expect(sysfs.exists("\(base)/\(f)"), "\(d.address) lacks \(f)")
            }
            // sys/bus/pci/devices entries are links into sys/devices, as on a real host.
            #expect(sysfs.isLink(base))
            #expect(d.canonicalPath?.hasPrefix("sys/devices/pci") == true)
            let group = try #require(d.iommuGroup, "\(d.address) has no IOMMU group")
            #expect(sysfs.iommuGroupMembers(group).contains(d.address))
            if let drv = d.driver { #expect(sysfs.isLink("\(HostRoot.driver(drv))/\(d.address)")) }
            // The config file is 4096 bytes and starts with the device's own ids.
            let cfg = try #require(sysfs.configSpace(d.address))
            #expect(cfg.bytes.count == 4096)
            #expect(cfg.vendorID == d.vendorID && cfg.deviceID == d.deviceID)
            #expect(sysfs.resources(d.address).count == 13)
        }
        #expect(sysfs.exists("dev/vfio/vfio"))
    }

    @Test(arguments: models)
    func libpciWalksTheSameCapabilitiesAsOurDecoder(model: String) throws {
        let root = try TestSupport.simHost(model)
        let pci = try LibPCI(root: root)
        let sysfs = SysfsReader(root: root)
        #expect(pci.addresses == sysfs.pciAddresses())
        for a in pci.addresses {
            let cfg = try #require(pci.configSpace(a))
            #expect(cfg == sysfs.configSpace(a), "libpci and the file disagree on \(a)'s config")
            let ours = (cfg.capabilities + cfg.extendedCapabilities)
            #expect(Set(pci.capabilities(a)) == Set(ours), "capability lists differ for \(a)")
            let ids = try #require(pci.ids(a))
            #expect(ids.vendor == sysfs.device(a)?.vendorID)
        }
    }

    @Test func h100SRIOVCapabilityIsTheModelsThroughLibpci() throws {
        let root = try TestSupport.simHost("h100x8")
        let pci = try LibPCI(root: root)
        let gpu = try #require(PCIAddress("0000:18:00.0"))
        let sr = try #require(pci.sriov(gpu))
        #expect(sr.offset == 0xbcc)
        #expect(sr.totalVFs == 32 && sr.initialVFs == 32 && sr.firstVFOffset == 4 && sr.vfStride == 1)
        #expect(sr.vfDeviceID == 0x2330)
        #expect(sr.vfBARs.map(\.index) == [0, 1, 3])
        #expect(sr.bar(1)?.is64Bit == true && sr.bar(1)?.prefetchable == true)
        // VF BAR0 is 32-bit (as the L20 capture): below 4 GiB. BAR1 is 64-bit, from the model's vfBarBase.
        let bar0 = try #require(sr.bar(0))
        #expect(!bar0.is64Bit && bar0.address > 0 && bar0.address < 1 << 32)
        #expect(sr.bar(1)?.address == 0x3000_0000_0000)
        #expect(pci.deviceSerialNumber(gpu) == 0x16c1_b0a1_0000_0000)
        // The model's serial appears as the DSN; sysfs sriov_totalvfs agrees with the capability.
        #expect(SysfsReader(root: root).device(gpu)?.sriov?.totalVFs == 32)
        // Names come from the PCI id database through libpci.
        #expect(pci.vendorName(0x10de)?.contains("NVIDIA") == true)
    }

    @Test func graceModelsCarryTheDVSECAndEGM() throws {
        let gh = try TestSupport.simHost("gh200x4")
        let pci = try LibPCI(root: gh)
        let gpu = try #require(PCIAddress("0009:01:00.0"))
        #expect(pci.nvidiaMIGHardwareBug(gpu) == true)
        // BARs as the GH200 capture: 16M at 0x661002000000, 128G at 0x662000000000, 32M at 0x661000000000.
        let rs = SysfsReader(root: gh).resources(gpu)
        #expect(rs[0].start == 0x6610_0200_0000 && rs[0].size == 16 << 20)
        #expect(rs[2].start == 0x6620_0000_0000 && rs[2].size == 128 << 30)
        #expect(rs[4].start == 0x6610_0000_0000 && rs[4].size == 32 << 20)
        let egm = Inventory.egmRegions(SysfsReader(root: gh))
        #expect(egm.map(\.pxm) == [4, 5, 6, 7])
        #expect(egm[0].gpus == ["0009:01:00.0"])
        #expect(SysfsReader(root: gh).text("sys/class/egm/egm4/egm_size") == "0x6400000000\n")
        #expect(SysfsReader(root: gh).exists("dev/egm4"))

        let gb = try TestSupport.simHost("gb200x4")
        let gbpci = try LibPCI(root: gb)
        #expect(gbpci.nvidiaMIGHardwareBug(PCIAddress("0008:01:00.0")!) == false)
        let gbEGM = Inventory.egmRegions(SysfsReader(root: gb))
        #expect(gbEGM.first?.gpus == ["0008:01:00.0", "0009:01:00.0"])
        #expect(SysfsReader(root: gb).device(PCIAddress("0019:01:00.0")!)?.driver == "nvgrace_gpu_vfio_pci")
    }

    @Test func mixedHostSharesTheAudioFunctionsGroup() throws {
        let root = try TestSupport.simHost("mixed")
        let sysfs = SysfsReader(root: root)
        let gpu = try #require(sysfs.device(PCIAddress("0000:03:00.0")!))
        let group = try #require(gpu.iommuGroup)
        let members = sysfs.iommuGroupMembers(group)
        #expect(members.map(\.description) == ["0000:03:00.0", "0000:03:00.1"])
        let nic = try #require(sysfs.device(PCIAddress("0000:04:00.0")!))
        #expect(nic.vendorID == 0x8086 && nic.sriov?.totalVFs == 64)
    }

    @Test func createRefusesANonEmptyDirectoryThatIsNotASimulatedHost() throws {
        let dir = TestSupport.tempDir()
        try "precious".write(toFile: dir + "/data.txt", atomically: true, encoding: .utf8)
        let before = TestSupport.fingerprint(dir)
        #expect { try SimHostBuilder.create(at: dir, model: "mixed") } throws: { e in
            let v = e as? SimHostError
            return v?.code == .directory && v?.status == .invalidInput && v?.message.contains(dir) == true
        }
        #expect(TestSupport.fingerprint(dir) == before)
    }

    @Test func createRefusesToReplaceASimulatedHostWithoutForce() throws {
        let root = try TestSupport.simHost("mixed")
        #expect { try SimHostBuilder.create(at: root.path, model: "h100x8") } throws: { e in
            let v = e as? SimHostError
            return v?.code == .alreadySimulated && v?.status == .refused
        }
        _ = try SimHostBuilder.create(at: root.path, model: "h100x8", replace: true)
        #expect(SysfsReader(root: root).pciAddresses().count == 24)
    }

    @Test func unknownModelIsInvalidInputAndCreatesNothing() throws {
        let dir = TestSupport.tempDir() + "/new"
        #expect { try SimHostBuilder.create(at: dir, model: "h100x9") } throws: { e in
            guard let v = e as? SimHostError else { return false }
            return v.code == .model && v.status == .invalidInput && v.message.contains("h100x9")
                && v.message.contains("gh200x4")
        }
        #expect(!FileManager.default.fileExists(atPath: dir))
    }
}
