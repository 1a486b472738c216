import HostKit
import Passthrough
import VGPUTypes

/// What the host is now, for the devices a config selects.
struct ObservedGPU {
    var device: PCIDevice
    /// VFs in index order with their type (nil: none) and holders.
    var vfs: [ObservedVF]
    /// vgpuctl's passthrough record for the PF, if it assigned it.
    var passthroughRecord: PassthroughState.Record?
    var holders: [VFIOHolder]
    var backend: (any VGPUBackend)?

    struct ObservedVF {
        var address: PCIAddress
        var type: String?
        var driver: String?
        var record: PassthroughState.Record?
        var holders: [VFIOHolder]
        var guest: String?
    }
}

/// Chooses the vGPU backend of a PF, given as just read from sysfs (nil: the host offers no vGPU
/// interface for it).
public typealias BackendProvider = (PCIDevice) throws -> (any VGPUBackend)?
