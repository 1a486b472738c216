import HostKit

/// A PF's config space as the boot needs it, read through libpci (`pci_read_block` and
/// libpci's capability walk) on the host root, so it works on a simulated host's `config`
/// file and on a real one.
public struct PFConfig: Sendable {
    public var address: PCIAddress
    public var config: ConfigSpace
    /// Where libpci found the SR-IOV extended capability, nil when it has none.
    public var sriovOffset: Int?

    public init(address: PCIAddress, config: ConfigSpace, sriovOffset: Int?) {
        self.address = address
        self.config = config
        self.sriovOffset = sriovOffset
    }

    /// Reads `address` on `root`; the PF must be an NVIDIA display-class function.
    public static func read(root: HostRoot, address: PCIAddress) throws(GSPMessagingError) -> PFConfig {
        let pci = try GSPMessagingError.wrapping(.host) { try LibPCI(root: root) }
        guard let cfg = pci.configSpace(address) else {
            throw .invalid(
                .notAGPU,
                "no PCI device \(address) under \(root.url(HostRoot.pciDevices)); run 'vgpuctl list' to see the GPUs")
        }
        guard cfg.vendorID == PCIIDs.nvidiaVendor, cfg.u8(0x0B) == 0x03 else {
            throw .invalid(
                .notAGPU,
                "\(address) is not an NVIDIA GPU (vendor \(hex0x(cfg.vendorID ?? 0)), class \(hex0x(cfg.u8(0x0B) ?? 0))); give a GPU's physical function"
            )
        }
        guard cfg.bytes.count >= 0x1000 else {
            throw .failed(
                .configSpace,
                "only \(cfg.bytes.count) bytes of \(address)'s config space are readable; the SR-IOV capability lies in extended config space (run as root)"
            )
        }
        let sriov = pci.capabilities(address).first { $0.extended && $0.id == CapabilityID.extSRIOV }
        return PFConfig(address: address, config: cfg, sriovOffset: sriov?.offset)
    }
}
