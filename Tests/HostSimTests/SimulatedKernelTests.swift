import Foundation
import HostKit
import HostSim
import SystemPackage
import TestSupport
import Testing

/// The simulated kernel's SR-IOV and binding semantics, case by case, with the errnos Linux
/// returns (drivers/pci/iov.c, drivers/base/bus.c, drivers/pci/pci-driver.c).
@Suite struct SimulatedKernelTests {
    let root: HostRoot
    let kernel: SimulatedKernel
    let sysfs: SysfsReader
    let pf = PCIAddress("0000:01:00.0")!  // H100 PCIe on the mixed host, bound to nvidia
    let nic = PCIAddress("0000:04:00.0")!  // 82599, ixgbe

    init() throws {
        root = try TestSupport.simHost("mixed")
        kernel = SimulatedKernel(root: root)
        sysfs = SysfsReader(root: root)
    }

    func errno(_ value: String, _ file: ControlFile) -> Errno? {
        do {
            try kernel.write(value, to: file)
            return nil
        } catch { return error.errno }
    }

    @Test func enablingVFsCreatesThemWithLinksAndOwnGroups() throws {
        try kernel.write("0", to: .sriovDriversAutoprobe(pf))
        try kernel.write("3", to: .sriovNumVFs(pf))
        let d = try #require(sysfs.device(pf))
        #expect(d.sriov?.numVFs == 3)
        #expect(d.sriov?.vfs.map(\.description) == ["0000:01:00.4", "0000:01:00.5", "0000:01:00.6"])
        var groups = Set<Int>()
        for vf in d.sriov!.vfs {
            let v = try #require(sysfs.device(vf))
            #expect(v.physfn == pf)
            #expect(v.driver == nil, "autoprobe is off: \(vf) must stay unbound")
            #expect(v.vendorID == 0x10de && v.deviceID == 0x2331)
            // A VF's own config space reads ffff for vendor and device (real-captures.md).
            #expect(sysfs.configSpace(vf)?.vendorID == 0xffff)
            let g = try #require(v.iommuGroup)
            #expect(sysfs.iommuGroupMembers(g) == [vf])
            groups.insert(g)
        }
        #expect(groups.count == 3)
        // The PF's SR-IOV capability now says NumVFs 3 and VF Enable.
        let sr = try #require(sysfs.configSpace(pf)?.sriov)
        #expect(sr.numVFs == 3 && sr.vfEnabled)
    }

    @Test func autoprobeBindsNewVFsToTheMatchingDriver() throws {
        try kernel.write("2", to: .sriovNumVFs(pf))
        for vf in try #require(sysfs.device(pf)?.sriov?.vfs) {
            #expect(sysfs.device(vf)?.driver == "nvidia")
        }
        try kernel.write("4", to: .sriovNumVFs(nic))
        let vfs = try #require(sysfs.device(nic)?.sriov?.vfs)
        #expect(vfs.map(\.description) == ["0000:04:10.0", "0000:04:10.2", "0000:04:10.4", "0000:04:10.6"])
        #expect(sysfs.device(vfs[0])?.driver == "ixgbevf")
    }

    @Test func countAboveTotalIsERANGE() {
        #expect(errno("33", .sriovNumVFs(pf)) == .outOfRange)
        #expect(sysfs.device(pf)?.sriov?.numVFs == 0)
    }

    @Test func changingANonzeroCountIsEBUSYAndTheSameCountIsANoOp() throws {
        try kernel.write("3", to: .sriovNumVFs(pf))
        #expect(errno("2", .sriovNumVFs(pf)) == .resourceBusy)
        #expect(errno("3", .sriovNumVFs(pf)) == nil)
        #expect(sysfs.device(pf)?.sriov?.numVFs == 3)
        try kernel.write("0", to: .sriovNumVFs(pf))
        #expect(sysfs.device(pf)?.sriov?.vfs == [])
        #expect(!sysfs.exists(HostRoot.device(PCIAddress("0000:01:00.4")!)))
        try kernel.write("2", to: .sriovNumVFs(pf))
        #expect(sysfs.device(pf)?.sriov?.numVFs == 2)
    }

    @Test func noDriverOrADriverWithoutSriovConfigureIsENOENT() throws {
        try kernel.write(pf.description, to: .unbind(driver: "nvidia"))
        #expect(errno("2", .sriovNumVFs(pf)) == .noSuchFileOrDirectory)
        try kernel.write("vfio-pci", to: .driverOverride(pf))
        try kernel.write(pf.description, to: .driversProbe)
        #expect(sysfs.device(pf)?.driver == "vfio-pci")
        #expect(errno("2", .sriovNumVFs(pf)) == .noSuchFileOrDirectory)
        // ERANGE is checked before the driver.
        #expect(errno("99", .sriovNumVFs(pf)) == .outOfRange)
    }

    @Test func malformedCountsAreEINVAL() {
        for bad in ["abc", "-1", "", "3 4", "70000"] {
            #expect(errno(bad, .sriovNumVFs(pf)) == .invalidArgument, "'\(bad)'")
        }
        #expect(errno("maybe", .sriovDriversAutoprobe(pf)) == .invalidArgument)
    }

    @Test func deviceWithoutSRIOVHasNoNumVFsFile() {
        let gpu = PCIAddress("0000:03:00.0")!
        #expect(errno("1", .sriovNumVFs(gpu)) == .noSuchFileOrDirectory)
    }

    @Test func driverOverrideAndProbeBindToVFIOAndCreateTheGroupNode() throws {
        try kernel.write("0", to: .sriovDriversAutoprobe(pf))
        try kernel.write("2", to: .sriovNumVFs(pf))
        let vf = try #require(sysfs.device(pf)?.sriov?.vfs.first)
        let group = try #require(sysfs.device(vf)?.iommuGroup)
        try kernel.write("vfio-pci", to: .driverOverride(vf))
        #expect(sysfs.text(HostRoot.deviceFile(vf, "driver_override")) == "vfio-pci\n")
        try kernel.write(vf.description, to: .driversProbe)
        #expect(sysfs.device(vf)?.driver == "vfio-pci")
        #expect(sysfs.exists("dev/vfio/\(group)"))
        #expect(!sysfs.list(HostRoot.deviceFile(vf, "vfio-dev")).isEmpty)
        try kernel.write(vf.description, to: .unbind(driver: "vfio-pci"))
        try kernel.write("", to: .driverOverride(vf))
        #expect(sysfs.text(HostRoot.deviceFile(vf, "driver_override")) == "(null)\n")
        #expect(sysfs.device(vf)?.driver == nil)
        #expect(!sysfs.exists("dev/vfio/\(group)"))
    }

    @Test func vfioPCIHasNoIdTableSoProbeWithoutOverrideBindsTheUsualDriver() throws {
        try kernel.write(pf.description, to: .unbind(driver: "nvidia"))
        #expect(errno(pf.description, .bind(driver: "vfio-pci")) == .noSuchDevice)
        try kernel.write(pf.description, to: .driversProbe)
        #expect(sysfs.device(pf)?.driver == "nvidia")
    }

    /// Seen on a real 6.1 kernel (Tests/RealKernel/OBSERVED.md): with autoprobe 0 a VF is not
    /// probed (drivers_probe succeeds and binds nothing) unless it has a driver_override; the
    /// flag is checked at every probe, also of VFs that already exist.
    @Test func autoprobeOffKeepsExistingVFsUnboundUntilOverridden() throws {
        try kernel.write("0", to: .sriovDriversAutoprobe(pf))
        try kernel.write("2", to: .sriovNumVFs(pf))
        let vf = try #require(sysfs.device(pf)?.sriov?.vfs.first)
        try kernel.write(vf.description, to: .driversProbe)
        #expect(sysfs.device(vf)?.driver == nil)
        #expect(errno(vf.description, .bind(driver: "nvidia")) == .noSuchDevice)
        try kernel.write("1", to: .sriovDriversAutoprobe(pf))
        try kernel.write(vf.description, to: .driversProbe)
        #expect(sysfs.device(vf)?.driver == "nvidia")
    }

    @Test func deviceNamesMustBeComplete() {
        // bus_find_device_by_name compares the whole name: no domain, no device.
        #expect(errno("01:00.0", .driversProbe) == .noSuchDevice)
        #expect(errno("", .driversProbe) == .noSuchDevice)
        #expect(errno("01:00.0", .unbind(driver: "nvidia")) == .noSuchDevice)
    }

    @Test func autoprobeTakesWhatKstrtoboolTakes() throws {
        for (v, want) in [("0", "0"), ("1", "1"), ("n", "0"), ("y", "1"), ("off", "0"), ("on", "1")] {
            try kernel.write(v, to: .sriovDriversAutoprobe(pf))
            #expect(sysfs.text(HostRoot.deviceFile(pf, "sriov_drivers_autoprobe")) == want + "\n")
        }
        for bad in ["", "2", "maybe", " 1"] {
            #expect(errno(bad, .sriovDriversAutoprobe(pf)) == .invalidArgument, "'\(bad)'")
        }
    }

    @Test func numVFsTakesKstrtou16Bases() throws {
        try kernel.write("0x2", to: .sriovNumVFs(pf))
        #expect(sysfs.device(pf)?.sriov?.numVFs == 2)
        try kernel.write("0", to: .sriovNumVFs(pf))
        try kernel.write("03", to: .sriovNumVFs(pf))
        #expect(sysfs.device(pf)?.sriov?.numVFs == 3)
        for bad in [" 3", "3 ", "1.5", "65536"] {
            #expect(errno(bad, .sriovNumVFs(pf)) == .invalidArgument, "'\(bad)'")
        }
    }

    @Test func overrideToAnUnloadedDriverLeavesTheDeviceUnbound() throws {
        try kernel.write(pf.description, to: .unbind(driver: "nvidia"))
        try kernel.write("nvgrace_gpu_vfio_pci", to: .driverOverride(pf))  // not loaded on this host
        try kernel.write(pf.description, to: .driversProbe)
        #expect(sysfs.device(pf)?.driver == nil)
    }

    @Test func unbindAndBindErrors() throws {
        // Unknown device, device bound elsewhere: ENODEV. Binding a bound device: EBUSY.
        #expect(errno("0000:7f:00.0", .unbind(driver: "nvidia")) == .noSuchDevice)
        #expect(errno(pf.description, .unbind(driver: "vfio-pci")) == .noSuchDevice)
        #expect(errno("garbage", .driversProbe) == .noSuchDevice)
        #expect(errno(pf.description, .bind(driver: "nvidia")) == .resourceBusy)
        // A driver that is not loaded has no bind file.
        #expect(errno(pf.description, .bind(driver: "i915")) == .noSuchFileOrDirectory)
    }

    @Test func graceIdsBindToNvgraceOnlyThroughDriverOverride() throws {
        let gh = try TestSupport.simHost("gh200x4")
        let k = SimulatedKernel(root: gh)
        let s = SysfsReader(root: gh)
        let gpu = PCIAddress("0009:01:00.0")!
        try k.write(gpu.description, to: .unbind(driver: "nvidia"))
        // Without the override, nvgrace does not match (override-only ids) and probe picks nvidia.
        #expect(throws: KernelError.self) { try k.write(gpu.description, to: .bind(driver: "nvgrace_gpu_vfio_pci")) }
        try k.write("nvgrace_gpu_vfio_pci", to: .driverOverride(gpu))
        try k.write(gpu.description, to: .driversProbe)
        #expect(s.device(gpu)?.driver == "nvgrace_gpu_vfio_pci")
        #expect(s.exists("dev/vfio/19"))
    }
}
