import Fleet
import HostKit
import Testing

/// KubeVirt's Allocate contract and the preferred allocation, on hand-made snapshots (the
/// fake-kubelet test in Tests/DevicePlugin checks the same through gRPC on a simulated host).
@Suite struct AllocationTests {
    static func gpu(_ a: String, group: Int, numa: Int, cdev: String? = nil, unhealthy: String? = nil) -> FleetDevice {
        let addr = PCIAddress(a)!
        return FleetDevice(
            kind: .passthrough, id: a, resource: "nvidia.com/GH100_GH200", functions: [addr], gpu: addr,
            vendorID: 0x10de, deviceID: 0x2342, numaNode: numa, iommuGroup: group,
            vfioCdevs: cdev.map { [$0] } ?? [], unhealthy: unhealthy)
    }

    static let snapshot = FleetSnapshot(
        devices: [
            gpu("0009:01:00.0", group: 19, numa: 0, cdev: "vfio0"),
            gpu("0019:01:00.0", group: 29, numa: 1, cdev: "vfio1"),
            gpu("0029:01:00.0", group: 39, numa: 2),
            gpu("0039:01:00.0", group: 49, numa: 3, unhealthy: "vgpuctl is reconfiguring it"),
        ],
        egm: [FleetEGM(device: "/dev/egm4", gpus: [PCIAddress("0009:01:00.0")!, PCIAddress("0019:01:00.0")!])],
        hasIOMMUFD: true)

    @Test func egmNodeOnlyWhenEveryGPUOfTheRegionIsAllocated() throws {
        let one = try Allocation.make(Self.snapshot, resource: "nvidia.com/GH100_GH200", ids: ["0009:01:00.0"])
        #expect(!one.devices.map(\.hostPath).contains("/dev/egm4"))
        #expect(one.envs == ["PCI_RESOURCE_NVIDIA_COM_GH100_GH200": "0009:01:00.0"])
        let both = try Allocation.make(
            Self.snapshot, resource: "nvidia.com/GH100_GH200", ids: ["0009:01:00.0", "0019:01:00.0"])
        let paths = both.devices.map(\.hostPath)
        #expect(
            paths == [
                "/dev/vfio/vfio", "/dev/vfio/19", "/dev/vfio/29", "/dev/iommu", "/dev/vfio/devices/vfio0",
                "/dev/vfio/devices/vfio1", "/dev/egm4",
            ])
        #expect(both.devices.allSatisfy { $0.permissions == "rwm" && $0.containerPath == $0.hostPath })
        #expect(both.envs["PCI_RESOURCE_NVIDIA_COM_GH100_GH200"] == "0009:01:00.0,0019:01:00.0")
    }

    @Test func unknownAndUnhealthyIdsAreRefused() {
        let unknown = #expect(throws: FleetError.self) {
            try Allocation.make(Self.snapshot, resource: "nvidia.com/GH100_GH200", ids: ["0000:ff:00.0"])
        }
        #expect(unknown?.code == .noSuchDevice)
        #expect(unknown?.status == .invalidInput)
        do {
            _ = try Allocation.make(Self.snapshot, resource: "nvidia.com/GH100_GH200", ids: ["0039:01:00.0"])
            Issue.record("an unhealthy device was allocated")
        } catch {
            #expect(error.status == .refused && error.message.contains("0039:01:00.0"))
            #expect(error.code == .unhealthy)
        }
    }

    @Test func preferredKeepsTheNUMANodeOfWhatMustBeIncluded() {
        let ids = Self.snapshot.devices.map(\.id)
        let p = Allocation.preferred(
            Self.snapshot, resource: "nvidia.com/GH100_GH200", available: ids, mustInclude: ["0029:01:00.0"], size: 2)
        #expect(p.first == "0029:01:00.0" && p.count == 2)
        #expect(!p.contains("0039:01:00.0"), "an unhealthy device was preferred")
    }
}
