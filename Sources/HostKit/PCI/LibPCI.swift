import CPCI
import Foundation

/// A libpci session over the sysfs tree of a host root (`pci_alloc`, `pci_init`, `pci_scan_bus`,
/// `pci_cleanup`), with the PCI id database for names.
///
/// libpci is pointed at `<root>/sys/bus/pci` through its `sysfs.path` parameter, so it reads a
/// simulated host the same way it reads `/sys`. Not thread-safe: use one per thread.
public final class LibPCI {
    private let access: UnsafeMutablePointer<pci_access>
    private var byAddress: [PCIAddress: UnsafeMutablePointer<pci_dev>] = [:]
    public let root: HostRoot

    /// Opens libpci on `root`. The root must have been validated (``HostRoot/validate()``).
    public init(root: HostRoot) throws(VGPUError) {
        try root.validate()
        guard let a = vgpuctl_pci_alloc(root.url(HostRoot.pciBus)) else {
            throw .failed(.libpci, "libpci: pci_alloc failed (out of memory)")
        }
        access = a
        self.root = root
        pci_init(a)
        pci_scan_bus(a)
        var d = a.pointee.devices
        while let dev = d {
            let addr = PCIAddress(
                domain: UInt32(bitPattern: dev.pointee.domain), bus: dev.pointee.bus,
                device: dev.pointee.dev, function: dev.pointee.`func`)
            byAddress[addr] = dev
            d = dev.pointee.next
        }
    }

    deinit { pci_cleanup(access) }

    /// Addresses libpci found (its scan of `sysfs.path/devices`), sorted.
    public var addresses: [PCIAddress] { byAddress.keys.sorted() }

    /// Vendor and device ids as libpci reads them (`pci_fill_info(PCI_FILL_IDENT)`).
    public func ids(_ a: PCIAddress) -> (vendor: UInt16, device: UInt16)? {
        guard let d = byAddress[a] else { return nil }
        pci_fill_info(d, Int32(PCI_FILL_IDENT))
        return (d.pointee.vendor_id, d.pointee.device_id)
    }

    /// The vendor's name from the PCI id database, or nil.
    public func vendorName(_ vendor: UInt16) -> String? {
        lookup { vgpuctl_pci_vendor_name(access, $0, $1, vendor) }
    }

    /// The device's name from the PCI id database, or nil when it does not know the id.
    public func deviceName(vendor: UInt16, device: UInt16) -> String? {
        lookup { vgpuctl_pci_device_name(access, $0, $1, vendor, device) }
    }

    /// The class name (base class << 8 | subclass) from the id database, or nil.
    public func className(_ cls: UInt16) -> String? {
        lookup { vgpuctl_pci_class_name(access, $0, $1, cls) }
    }

    private func lookup(_ call: (UnsafeMutablePointer<CChar>, Int32) -> UnsafeMutablePointer<CChar>?) -> String? {
        var buf = [CChar](repeating: 0, count: 256)
        return buf.withUnsafeMutableBufferPointer { b -> String? in
            guard let base = b.baseAddress, let p = call(base, Int32(b.count)) else { return nil }
            return String(cString: p)
        }
    }

    /// Reads config space through libpci (`pci_read_block`), as much as the reader may see:
    /// 4096 bytes (extended) for root on a real host or on a simulated tree, 256 or 64 otherwise.
    public func configSpace(_ a: PCIAddress) -> ConfigSpace? {
        guard let d = byAddress[a] else { return nil }
        for size in [4096, 256, 64] {
            var buf = [UInt8](repeating: 0, count: size)
            let ok = buf.withUnsafeMutableBufferPointer { pci_read_block(d, 0, $0.baseAddress, Int32(size)) }
            if ok != 0 { return ConfigSpace(buf) }
        }
        return nil
    }

    /// The capabilities libpci's own walk finds (`pci_fill_info(PCI_FILL_CAPS | PCI_FILL_EXT_CAPS)`,
    /// the `first_cap` list), in list order.
    public func capabilities(_ a: PCIAddress) -> [ConfigSpace.Capability] {
        guard let d = byAddress[a] else { return [] }
        pci_fill_info(d, Int32(PCI_FILL_CAPS | PCI_FILL_EXT_CAPS))
        var out: [ConfigSpace.Capability] = []
        var c = d.pointee.first_cap
        while let cap = c {
            out.append(
                .init(id: cap.pointee.id, offset: Int(cap.pointee.addr), extended: cap.pointee.type == PCI_CAP_EXTENDED)
            )
            c = cap.pointee.next
        }
        return out
    }

    /// The SR-IOV capability found by libpci's walk and decoded from config space read through it.
    public func sriov(_ a: PCIAddress) -> SRIOVCapability? {
        guard let cap = capabilities(a).first(where: { $0.extended && $0.id == CapabilityID.extSRIOV }),
            let cfg = configSpace(a)
        else { return nil }
        return SRIOVCapability(config: cfg, at: cap.offset)
    }

    /// The Device Serial Number through libpci, or nil.
    public func deviceSerialNumber(_ a: PCIAddress) -> UInt64? {
        guard let d = byAddress[a],
            let cap = capabilities(a).first(where: { $0.extended && $0.id == CapabilityID.extDSN })
        else { return nil }
        let lo = pci_read_long(d, Int32(cap.offset + 4))
        let hi = pci_read_long(d, Int32(cap.offset + 8))
        return UInt64(hi) << 32 | UInt64(lo)
    }

    /// NVIDIA's DVSEC 3 bitmap and the MIG hardware bug decision, or nil when config space is
    /// not readable that far (unprivileged on a real host).
    public func nvidiaMIGHardwareBug(_ a: PCIAddress) -> Bool? {
        guard let cfg = configSpace(a), cfg.bytes.count > 0x100 else { return nil }
        return NVIDIADVSEC.hasMIGHardwareBug(cfg)
    }
}
