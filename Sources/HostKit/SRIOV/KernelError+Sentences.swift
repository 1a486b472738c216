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
        let cause = description
        let isNumVFs = path.hasSuffix("/sriov_numvfs")
        switch errno {
        case .outOfRange where isNumVFs:
            let total = device?.sriov?.totalVFs
            return .invalid("\(name) supports at most \(total.map(String.init) ?? "fewer") VFs", cause: cause)
        case .resourceBusy where isNumVFs:
            let n = device?.sriov?.numVFs ?? 0
            return .refused(
                "\(name) already has \(n) VFs enabled; the kernel changes the count only from 0 (vgpuctl vf disable \(name), or vf enable --force)",
                cause: cause)
        case .noSuchFileOrDirectory where isNumVFs:
            if let drv = device?.driver {
                return .failed(
                    "the driver bound to \(name) (\(drv)) cannot enable SR-IOV; bind a driver that can (the vendor driver, or pci-pf-stub) first",
                    cause: cause)
            }
            return .failed(
                "no driver is bound to \(name), and SR-IOV needs the PF's driver; bind one that can enable SR-IOV (the vendor driver, or pci-pf-stub) first",
                cause: cause)
        case .invalidArgument:
            return .invalid("the kernel rejected '\(value)' for \(path)", cause: cause)
        case .permissionDenied, .notPermitted:
            return .failed("writing \(path) needs root; run vgpuctl as root", cause: cause)
        case .noSuchDevice:
            return .failed(
                "the kernel has no device \(value) for \(path), or the driver does not match it", cause: cause)
        case .resourceBusy:
            return .refused(
                "\(name) is busy (\(path)): it is bound to \(device?.driver ?? "a driver") or in use", cause: cause)
        case .noSuchFileOrDirectory:
            return .failed(
                "\(path) does not exist: the device or driver is gone (or the driver is not loaded)", cause: cause)
        default:
            return .failed("writing '\(value)' to \(path) failed: \(errno)", cause: cause)
        }
    }
}
