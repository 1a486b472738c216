import HostKit
import VGPUTypes

/// What the interfaces that drive NVIDIA's driver through its files under the host root share
/// (``VendorSysfsInterface``, ``MdevInterface``): the root, the kernel writer and the GPU's
/// catalog; their VFs are bound to `nvidia`, and there is nothing to prepare (the driver knows
/// its types).
public struct DriverFiles {
    public let root: HostRoot
    public let kernel: any Kernel
    public let catalog: VGPUCatalog

    public init(root: HostRoot, kernel: any Kernel, catalog: VGPUCatalog) {
        self.root = root
        self.kernel = kernel
        self.catalog = catalog
    }
}

/// An interface over ``DriverFiles``: the shared part written once.
public protocol DriverFileInterface: VGPUInterface {
    var files: DriverFiles { get }
}

extension DriverFileInterface {
    public var root: HostRoot { files.root }
    public var kernel: any Kernel { files.kernel }
    public var catalog: VGPUCatalog { files.catalog }
    var sysfs: SysfsReader { SysfsReader(root: files.root) }
    public var vfsNeedVendorDriver: Bool { true }
    public func prepare(_ catalog: VGPUCatalog) throws(VirtualFunctionsError) {}
}
