import Foundation
import GPUModels
import HostKit

/// What a simulated host remembers beside its tree, in `<root>/.vgpuctl-sim.json`: the model
/// it was made from, the drivers the simulated kernel knows, and the hardware description of
/// each SR-IOV PF (needed to create VFs). Its presence marks the root as simulated.
public struct SimState: Codable, Sendable {
    public var format: Int = 1
    public var model: String
    public var drivers: [DriverSpec]
    /// Hardware of the PFs, by address.
    public var pfs: [String: PF]
    /// IOMMU group ids from this one up are allocated dynamically (lowest free first, as the
    /// kernel's ida does) for VFs.
    public var firstDynamicGroup: Int
    /// EGM retired pages (offsets) by proximity domain, returned by the simulated
    /// `EGM_RETIRED_PAGES_LIST`.
    public var egmRetiredPages: [String: [UInt64]]?
    /// How the host offers vGPU types (a ``SimVGPUInterface`` raw value); nil: none.
    public var vgpuInterface: String?

    package init(model: String, drivers: [DriverSpec], pfs: [String: PF], firstDynamicGroup: Int) {
        self.model = model
        self.drivers = drivers
        self.pfs = pfs
        self.firstDynamicGroup = firstDynamicGroup
    }

    public struct PF: Codable, Sendable {
        public var spec: DeviceSpec
        public var serial: UInt64?
        public var barAddresses: [Int: UInt64]
        /// Base of each VF BAR region (BAR index -> address of VF 0's BAR).
        public var vfBarAddresses: [Int: UInt64]
        public var multifunction: Bool
        public var numaNode: Int

        package init(
            spec: DeviceSpec, serial: UInt64?, barAddresses: [Int: UInt64], vfBarAddresses: [Int: UInt64],
            multifunction: Bool, numaNode: Int
        ) {
            self.spec = spec
            self.serial = serial
            self.barAddresses = barAddresses
            self.vfBarAddresses = vfBarAddresses
            self.multifunction = multifunction
            self.numaNode = numaNode
        }
    }

    package static func load(_ root: HostRoot) throws -> SimState {
        guard let data = FileManager.default.contents(atPath: root.url(HostRoot.simulationMarker)) else {
            throw SimGPUError.invalid(
                .notSimulated, "\(root.path) is not a simulated host (no \(HostRoot.simulationMarker))")
        }
        do { return try JSONDecoder().decode(SimState.self, from: data) } catch {
            throw SimGPUError.invalid(
                .stateFile, "\(root.url(HostRoot.simulationMarker)) is damaged: \(error)", underlying: error)
        }
    }

    package func save(_ fs: SimFS) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try enc.encode(self), to: fs.abs(HostRoot.simulationMarker))
    }

    package func driver(_ name: String) -> DriverSpec? { drivers.first { $0.name == name } }
}

extension DriverSpec.Match {
    /// Whether this id-table entry matches a device (`PCI_ANY_ID` = 0xffff for the vendor).
    package func matches(vendor: UInt16, device: UInt16, classCode: UInt32) -> Bool {
        if self.vendor.value != 0xffff && UInt16(truncatingIfNeeded: self.vendor.value) != vendor { return false }
        if let d = self.device, UInt16(truncatingIfNeeded: d.value) != device { return false }
        if let c = classBase, UInt32(c.value) != classCode >> 16 { return false }
        if let c = self.classCode, UInt32(c.value) != classCode >> 8 { return false }
        return true
    }
}
