import Foundation
import GPUModels
import HostKit
import HostSim
import VirtualFunctions

extension HostContext {
    /// The control channels of the upstream backend: on a simulated host, its firmware reached
    /// in-process (until stage 2's channel to gsp-stub exists); on a real host none yet.
    var vgpuChannels: ControlChannelFactory {
        let root = self.root
        return { (pf: PCIAddress) throws(VGPUError) -> (any VGPUControlChannel)? in
            root.isSimulated ? SimFirmwareChannel(firmware: SimVGPUFirmware(root: root, pf: pf)) : nil
        }
    }

    /// The vGPU backend of a PF (generic SR-IOV when the host offers no types for it).
    func vgpuBackend(_ pf: PCIAddress) throws(VGPUError) -> any VGPUBackend {
        try VGPUBackends.detect(root: root, kernel: kernel, pf: pf, channels: vgpuChannels)
    }

    /// The reconciler's provider (nil for PFs without vGPU types).
    var vgpuBackendProvider: (PCIAddress) throws(VGPUError) -> (any VGPUBackend)? {
        VGPUBackends.provider(root: root, kernel: kernel, channels: vgpuChannels)
    }

    /// The PF of a VF named on the command line (invalid input when it is not a VF).
    func pfOf(_ vf: PCIAddress) throws(VGPUError) -> PCIAddress {
        guard let d = sysfs.device(vf) else {
            throw .invalid("no PCI device \(vf) under \(root.url(HostRoot.pciDevices)); 'vgpuctl vf list' shows the VFs")
        }
        guard let pf = d.physfn else { throw .invalid("\(vf) is not a VF (it has no physfn); name a VF of an SR-IOV PF") }
        return pf
    }
}

/// The upstream commands carried to a simulated host's firmware in-process.
struct SimFirmwareChannel: VGPUControlChannel {
    let firmware: SimVGPUFirmware

    func run<T>(_ what: String, _ body: () throws(SimVGPUError) -> T) throws(VGPUError) -> T {
        do { return try body() } catch {
            throw .failed("the firmware of \(firmware.pf) refused \(what): \(error.message)", cause: "errno \(error.errno.rawValue)")
        }
    }

    func addType(_ type: VGPUCatalog.VGPUType) throws(VGPUError) { try run("ADD_TYPE \(type.name)") { () throws(SimVGPUError) in try firmware.addType(type) } }
    func querySupported() throws(VGPUError) -> [Int] { try run("QUERY_SUPPORTED") { () throws(SimVGPUError) in try firmware.querySupported() } }
    func queryCreatable(vf: Int) throws(VGPUError) -> [Int] { try run("QUERY_CREATABLE") { () throws(SimVGPUError) in try firmware.queryCreatable(vf: vf) } }
    func assignType(_ typeID: Int, vf: Int, placement: Int?, channelOffset: Int?) throws(VGPUError) {
        try run("ASSIGN_TYPE \(typeID) to VF \(vf)") { () throws(SimVGPUError) in
            try firmware.assignType(typeID, vf: vf, placement: placement, channelOffset: channelOffset)
        }
    }
    func deassignType(vf: Int) throws(VGPUError) { try run("DEASSIGN_TYPE of VF \(vf)") { () throws(SimVGPUError) in try firmware.deassignType(vf: vf) } }
    func queryProperties(_ typeID: Int) throws(VGPUError) -> VGPUCatalog.VGPUType {
        try run("QUERY_PROPERTIES \(typeID)") { () throws(SimVGPUError) in try firmware.queryProperties(typeID) }
    }
    func queryAssignedVF(_ vf: Int) throws(VGPUError) -> VFAssignmentReport? {
        try run("QUERY_ASSIGNED_VF \(vf)") { () throws(SimVGPUError) -> VFAssignmentReport? in
            guard let a = try firmware.queryAssignedVF(vf) else { return nil }
            let t = try? firmware.queryProperties(a.typeID)
            let unit = firmware.unitMiB
            return VFAssignmentReport(vf: vf, typeID: a.typeID, placement: a.placement, framebufferOffsetMiB: a.placement * unit,
                                      framebufferMiB: t?.framebufferMiB ?? 0, channelOffset: a.channelOffset, channels: t?.channels ?? 0)
        }
    }
}
