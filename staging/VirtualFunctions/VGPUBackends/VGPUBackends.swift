import Foundation
import HostKit
import VGPUTypes

/// Picks the backend of a PF from what the host has.
///
/// Evidence, strongest first:
/// 1. a VF with `nvidia/current_vgpu_type` -> vendor sysfs;
/// 2. a VF registered in `sys/class/mdev_bus` -> mdev;
/// 3. a fwctl device (`sys/class/fwctl/fwctlN/device`) whose device is the PF -> upstream;
/// 4. with no VFs enabled yet: the PF bound to `nvidia` and NVIDIA's vGPU host module loaded
///    (`sys/module/nvidia_vgpu_vfio`, what NVIDIA's install guide checks with `lsmod`) -> mdev
///    when the mdev bus exists (`sys/bus/mdev`), vendor sysfs otherwise (vGPU 17+ hosts have
///    no mdev bus);
/// 5. otherwise generic SR-IOV (no types).
public enum VGPUBackends {
    /// NVIDIA's vGPU host module, as sysfs shows it loaded.
    public static let vgpuModule = "sys/module/nvidia_vgpu_vfio"
    /// The mdev bus (present when the mdev core is loaded).
    public static let mdevBus = "sys/bus/mdev"

    /// The interface the host offers for `pf`, without opening anything.
    public static func interfaceKind(root: HostRoot, pf: PCIAddress) throws(VirtualFunctionsError) -> VGPUBackendKind {
        try interfaceKind(root: root, device: requirePF(root: root, pf))
    }

    /// `pf` as sysfs shows it, or invalid input naming the address.
    static func requirePF(root: HostRoot, _ pf: PCIAddress) throws(VirtualFunctionsError) -> PCIDevice {
        guard let d = SysfsReader(root: root).device(pf) else {
            throw .invalid(
                .notAPF,
                "no PCI device \(pf) under \(root.url(HostRoot.pciDevices)); run 'vgpuctl list --all' to see the addresses"
            )
        }
        return d
    }

    /// The interface the host offers for the PF `d` (as just read from sysfs).
    public static func interfaceKind(root: HostRoot, device d: PCIDevice) throws(VirtualFunctionsError)
        -> VGPUBackendKind
    {
        let sysfs = SysfsReader(root: root)
        let pf = d.address
        if let owner = d.physfn { throw .invalid(.notAPF, "\(pf) is a VF (of \(owner)); name its PF") }
        guard let sr = d.sriov else {
            throw .invalid(.noSRIOV, "\(pf) (\(d.id)) has no SR-IOV capability, so it has no VFs to type")
        }
        if sr.vfs.contains(where: { sysfs.exists(HostRoot.deviceFile($0, "nvidia/current_vgpu_type")) }) {
            return .vendorSysfs
        }
        // One listing of the mdev bus, not a look per VF.
        if !sr.vfs.isEmpty {
            let mdevParents = Set(sysfs.list(HostRoot.mdevBus))
            if sr.vfs.contains(where: { mdevParents.contains($0.description) }) { return .mdev }
        }
        if fwctlDevice(root: root, pf: pf) != nil { return .upstream }
        if d.driver == "nvidia" && sysfs.exists(vgpuModule) { return sysfs.exists(mdevBus) ? .mdev : .vendorSysfs }
        return .generic
    }

    /// The fwctl device (`fwctlN`) whose parent is `pf`, if any.
    public static func fwctlDevice(root: HostRoot, pf: PCIAddress) -> String? {
        let sysfs = SysfsReader(root: root)
        return sysfs.list(HostRoot.fwctlClass).first {
            sysfs.linkName("\(HostRoot.fwctlClass)/\($0)/device") == pf.description
        }
    }

    /// The backend for `pf`. Typed interfaces need the GPU's profile catalog (invalid input when
    /// there is none); the upstream one needs a control channel from `channels` (the stage-2
    /// module, or a simulated host's firmware). Built-in profiles come from `models` (a folder
    /// of `vgpu/*.yaml` catalogs: VGPUTypes' bundled one unless the edge points elsewhere).
    public static func detect(
        root: HostRoot, kernel: any Kernel, pf: PCIAddress, profiles given: VGPUProfiles? = nil,
        channels: ControlChannelFactory? = nil, scrubbers: ScrubberFactory? = nil,
        models: URL = VGPUCatalogSet.builtInDirectory
    ) throws(VirtualFunctionsError) -> any VGPUBackend {
        try detect(
            root: root, kernel: kernel, device: requirePF(root: root, pf), profiles: given, channels: channels,
            scrubbers: scrubbers, models: models)
    }

    /// The backend for the PF `gpu` (as just read from sysfs); see the overload by address.
    public static func detect(
        root: HostRoot, kernel: any Kernel, device gpu: PCIDevice, profiles given: VGPUProfiles? = nil,
        channels: ControlChannelFactory? = nil, scrubbers: ScrubberFactory? = nil,
        models: URL = VGPUCatalogSet.builtInDirectory, kind known: VGPUBackendKind? = nil
    ) throws(VirtualFunctionsError) -> any VGPUBackend {
        let pf = gpu.address
        let kind: VGPUBackendKind
        if let known { kind = known } else { kind = try interfaceKind(root: root, device: gpu) }
        if kind == .generic { return GenericBackend(root: root, pf: pf) }
        let profiles: VGPUProfiles
        if let given {
            profiles = given
        } else {
            profiles = try VirtualFunctionsError.wrapping(.host) { try VGPUProfiles.load(root: root, builtIn: models) }
        }
        let catalog = try VirtualFunctionsError.wrapping(.unknownType) { try profiles.requireCatalog(for: gpu) }
        let interface: any VGPUInterface
        switch kind {
        case .vendorSysfs: interface = VendorSysfsInterface(root: root, kernel: kernel, catalog: catalog)
        case .mdev: interface = MdevInterface(root: root, kernel: kernel, catalog: catalog)
        case .upstream:
            let dev = fwctlDevice(root: root, pf: pf) ?? "fwctl"
            guard let open = channels, let ch = try open(pf) else {
                throw .failed(
                    .controlChannel,
                    "\(pf) has the upstream control channel \(dev), but this vgpuctl has no control channel for it yet (stage 2, staging/ControlChannel, is missing)"
                )
            }
            interface = UpstreamInterface(channel: ch, catalog: catalog)
        case .generic: return GenericBackend(root: root, pf: pf)
        }
        let typed = TypedVFBackend(root: root, pf: pf, catalog: catalog, profiles: profiles, interface: interface)
        typed.scrubber = scrubbers?(pf)
        return typed
    }

    /// A provider for the reconciler: the backend of a PF (as the caller just read it, so it is
    /// not read again), nil when the host offers no vGPU types for it (generic SR-IOV, or an
    /// NVIDIA GPU no catalog covers). Profile files are read once.
    public static func provider(
        root: HostRoot, kernel: any Kernel, channels: ControlChannelFactory? = nil, scrubbers: ScrubberFactory? = nil,
        models: URL = VGPUCatalogSet.builtInDirectory
    )
        -> (PCIDevice) throws(VirtualFunctionsError) -> (any VGPUBackend)?
    {
        var loaded: VGPUProfiles?
        return { (gpu: PCIDevice) throws(VirtualFunctionsError) -> (any VGPUBackend)? in
            let kind = try interfaceKind(root: root, device: gpu)
            if kind == .generic { return nil }
            if loaded == nil {
                loaded = try VirtualFunctionsError.wrapping(.host) {
                    try VGPUProfiles.load(root: root, builtIn: models)
                }
            }
            guard loaded?.catalog(for: gpu) != nil else { return nil }
            return try detect(
                root: root, kernel: kernel, device: gpu, profiles: loaded, channels: channels, scrubbers: scrubbers,
                kind: kind)
        }
    }
}
