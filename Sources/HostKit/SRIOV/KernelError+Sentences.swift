import SystemPackage

extension KernelError {
    /// The sentence an operator reads for a failed write to a PCI control file, with the exit
    /// status it maps to. `device` is what sysfs said about the device before the write.
    ///
    /// `sriov_numvfs` errnos as `drivers/pci/iov.c` returns them: ERANGE above TotalVFs, EBUSY
    /// when VFs are already enabled, ENOENT when the PF has no driver or its driver has no
    /// `sriov_configure`; EINVAL for a value the kernel cannot parse. `bind`/`unbind`/
    /// `drivers_probe`: ENODEV for an unknown or non-matching device, EBUSY when bound.
    public func explained(device: PCIDevice?) -> VGPUError {
        let name = device?.address.description ?? path
        let isNumVFs = path.hasSuffix("/sriov_numvfs")
        switch errno {
        case .outOfRange where isNumVFs:
            let total = device?.sriov?.totalVFs
            return .invalid(
                .vfCount, "\(name) supports at most \(total.map(String.init) ?? "fewer") VFs", underlying: self)
        case .resourceBusy where isNumVFs:
            let n = device?.sriov?.numVFs ?? 0
            return .refused(
                .vfsInUse,
                "\(name) already has \(n) VFs enabled; the kernel changes the count only from 0 (vgpuctl vf disable \(name), or vf enable --force)",
                underlying: self)
        case .noSuchFileOrDirectory where isNumVFs:
            if let drv = device?.driver {
                return .failed(
                    .kernelWrite,
                    "the driver bound to \(name) (\(drv)) cannot enable SR-IOV; bind a driver that can (the vendor driver, or pci-pf-stub) first",
                    underlying: self)
            }
            return .failed(
                .kernelWrite,
                "no driver is bound to \(name), and SR-IOV needs the PF's driver; bind one that can enable SR-IOV (the vendor driver, or pci-pf-stub) first",
                underlying: self)
        case .invalidArgument:
            return .invalid(.kernelWrite, "the kernel rejected '\(value)' for \(path)", underlying: self)
        case .permissionDenied, .notPermitted:
            return .failed(.notPrivileged, "writing \(path) needs root; run vgpuctl as root", underlying: self)
        case .noSuchDevice:
            return .failed(
                .kernelWrite,
                "the kernel has no device \(value) for \(path), or the driver does not match it", underlying: self)
        case .resourceBusy:
            return .refused(
                .kernelWrite,
                "\(name) is busy (\(path)): it is bound to \(device?.driver ?? "a driver") or in use", underlying: self)
        case .noSuchFileOrDirectory:
            return .failed(
                .kernelWrite,
                "\(path) does not exist: the device or driver is gone (or the driver is not loaded)", underlying: self)
        default:
            return .failed(.kernelWrite, "writing '\(value)' to \(path) failed: \(errno)", underlying: self)
        }
    }
}
