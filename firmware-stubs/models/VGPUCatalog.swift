import Foundation

/// A vGPU profile catalog: the vGPU types one GPU model supports, with the GPU resources they are
/// carved from. Read from `vgpu/<name>.yaml` (built in) or from an operator's profile file by
/// ``VGPUCatalogParser``; every derived value is filled in here, so the bookkeeping
/// (VirtualFunctions), the simulated NVIDIA driver (HostSim) and the firmware stub all see the
/// same numbers.
///
/// Frame buffer is modelled as a grid of `placementUnits` equal units over the usable frame
/// buffer (total minus what the GPU reserves, e.g. the WPR2 heap). A type occupies
/// `placementSize` contiguous units starting at one of its `placements` (multiples of its size
/// for time-sliced types, GPU-instance placements for MIG-backed ones): NVIDIA's "placement
/// size" and "placement ID" scheme, with the unit size an assumption of this model.
public struct VGPUCatalog: Sendable, Codable, Equatable {
    /// The catalog's name, which is also the prefix of its type names (`H100XM`).
    public var name: String
    /// The file it came from.
    public var file: String
    public var gpu: GPU
    public var types: [VGPUType]

    public init(name: String, file: String, gpu: GPU, types: [VGPUType]) {
        self.name = name
        self.file = file
        self.gpu = gpu
        self.types = types
    }

    /// The physical GPU the types are carved from.
    public struct GPU: Sendable, Codable, Equatable {
        /// Marketing name (`NVIDIA H100 SXM5 80GB`).
        public var name: String
        /// PCI device ids (vendor 0x10de) of the GPUs this catalog applies to.
        public var deviceIDs: [UInt16]
        /// Physical frame buffer in MiB.
        public var framebufferMiB: Int
        /// Frame buffer the GPU keeps for itself (not available to VFs).
        public var reserved: [Reservation]
        /// Number of equal placement units the usable frame buffer is divided into.
        public var placementUnits: Int
        /// Channel ids available to VFs (the pool each VF's contiguous range comes from).
        public var channels: Int
        /// Copy engines of the GPU.
        public var copyEngines: Int
        /// VFs that can carry a vGPU (SR-IOV TotalVFs, NVIDIA's per-GPU vGPU limit).
        public var vfSlots: Int
        /// Whether vGPUs of different frame-buffer sizes may share the GPU (heterogeneous mode).
        public var heterogeneous: Bool
        /// MIG geometry, when the GPU supports MIG-backed types.
        public var mig: MIGGeometry?

        public init(
            name: String, deviceIDs: [UInt16], framebufferMiB: Int, reserved: [Reservation], placementUnits: Int,
            channels: Int, copyEngines: Int, vfSlots: Int, heterogeneous: Bool, mig: MIGGeometry?
        ) {
            self.name = name
            self.deviceIDs = deviceIDs
            self.framebufferMiB = framebufferMiB
            self.reserved = reserved
            self.placementUnits = placementUnits
            self.channels = channels
            self.copyEngines = copyEngines
            self.vfSlots = vfSlots
            self.heterogeneous = heterogeneous
            self.mig = mig
        }

        /// Frame buffer left for VFs: total minus the reservations.
        public var usableMiB: Int { framebufferMiB - reserved.reduce(0) { $0 + $1.sizeMiB } }

        /// One placement unit in MiB: the usable frame buffer divided by `placementUnits`,
        /// rounded down to 2 MiB (the GPU's large page; assumed).
        public var unitMiB: Int { Self.unit(usable: usableMiB, units: placementUnits) }

        static func unit(usable: Int, units: Int) -> Int {
            guard units > 0, usable > 0 else { return 0 }
            return (usable / units) & ~1
        }
    }

    /// Frame buffer the GPU keeps (e.g. the GSP-RM WPR2 heap of a vGPU boot).
    public struct Reservation: Sendable, Codable, Equatable {
        public var name: String
        public var sizeMiB: Int
        public init(name: String, sizeMiB: Int) {
            self.name = name
            self.sizeMiB = sizeMiB
        }
    }

    /// MIG geometry of a GPU: compute (GPC) slices and memory slices.
    public struct MIGGeometry: Sendable, Codable, Equatable {
        public var computeSlices: Int
        public var memorySlices: Int
        public init(computeSlices: Int, memorySlices: Int) {
            self.computeSlices = computeSlices
            self.memorySlices = memorySlices
        }
    }

    /// A vGPU type with every value resolved.
    public struct VGPUType: Sendable, Codable, Equatable {
        /// Profile name (`H100XM-10C`, `H100XM-1-10C`).
        public var name: String
        /// The driver's numeric type id (`creatable_vgpu_types`, `nvidia-<id>` mdev types).
        public var id: Int
        /// The frame buffer the name promises, in MiB (GB in the name × 1024).
        public var nominalMiB: Int
        /// Series letters after the size (`C` compute, `Q` workstation, `B`, `A`, `CME`).
        public var series: String
        /// Frame buffer a VF of this type gets, in MiB.
        public var framebufferMiB: Int
        /// NVIDIA's maximum number of instances per GPU.
        public var maxInstances: Int
        /// Placement units one instance occupies.
        public var placementSize: Int
        /// Allowed first units of an instance, ascending.
        public var placements: [Int]
        /// Channels each VF gets (a contiguous range aligned to its size).
        public var channels: Int
        /// Copy engines each VF is given.
        public var copyEngines: Int
        /// The GPU instance backing the type, nil for time-sliced types.
        public var mig: MIGBacking?

        public init(
            name: String, id: Int, nominalMiB: Int, series: String, framebufferMiB: Int, maxInstances: Int,
            placementSize: Int, placements: [Int], channels: Int, copyEngines: Int, mig: MIGBacking?
        ) {
            self.name = name
            self.id = id
            self.nominalMiB = nominalMiB
            self.series = series
            self.framebufferMiB = framebufferMiB
            self.maxInstances = maxInstances
            self.placementSize = placementSize
            self.placements = placements
            self.channels = channels
            self.copyEngines = copyEngines
            self.mig = mig
        }

        /// Whether a MIG GPU instance backs the type.
        public var isMIG: Bool { mig != nil }
    }

    /// The MIG GPU instance behind a MIG-backed type.
    public struct MIGBacking: Sendable, Codable, Equatable {
        /// GPU instance profile name (`1g.10gb`, `1g.10gb+me`).
        public var profile: String
        public var computeSlices: Int
        public var memorySlices: Int
        /// Allowed first memory slices (`nvidia-smi mig -lgipp`).
        public var memoryPlacements: [Int]
        public init(profile: String, computeSlices: Int, memorySlices: Int, memoryPlacements: [Int]) {
            self.profile = profile
            self.computeSlices = computeSlices
            self.memorySlices = memorySlices
            self.memoryPlacements = memoryPlacements
        }
    }

    /// The type called `name`, if this catalog has it.
    public func type(named name: String) -> VGPUType? { types.first { $0.name == name } }

    /// The type with driver id `id`, if this catalog has it.
    public func type(id: Int) -> VGPUType? { types.first { $0.id == id } }

    /// Whether the catalog applies to a GPU with PCI device id `deviceID`.
    public func applies(toDevice deviceID: UInt16) -> Bool { gpu.deviceIDs.contains(deviceID) }

    /// Frame buffer of `units` placement units, in MiB.
    public func mib(units: Int) -> Int { units * gpu.unitMiB }
}

/// The catalogs vgpuctl knows: the built-in ones (`vgpu/*.yaml` in the models directory) and
/// operators' files, which replace a built-in catalog that covers the same device id.
public struct VGPUCatalogSet: Sendable {
    public var catalogs: [VGPUCatalog]

    public init(_ catalogs: [VGPUCatalog]) { self.catalogs = catalogs }

    /// The catalog for a GPU with PCI device id `deviceID` (the last loaded wins).
    public func catalog(forDevice deviceID: UInt16) -> VGPUCatalog? {
        catalogs.last { $0.applies(toDevice: deviceID) }
    }

    /// Catalogs that define a type called `name` (to explain "a type of another GPU model").
    public func catalogs(definingType name: String) -> [VGPUCatalog] {
        catalogs.filter { $0.type(named: name) != nil }
    }

    /// Adds `more`; a catalog in `more` replaces every earlier one that shares a device id.
    public func overlaid(with more: [VGPUCatalog]) -> VGPUCatalogSet {
        var out = catalogs
        for c in more {
            out.removeAll { old in old.gpu.deviceIDs.contains { c.gpu.deviceIDs.contains($0) } }
            out.append(c)
        }
        return VGPUCatalogSet(out)
    }
}

extension Models {
    /// The built-in vGPU profile catalogs (`vgpu/*.yaml` in `dir`), in file-name order.
    public static func vgpuCatalogs(in dir: URL = bundled) throws(ModelError) -> VGPUCatalogSet {
        let folder = dir.appendingPathComponent("vgpu")
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
            .filter { $0.hasSuffix(".yaml") }.sorted()
        var out: [VGPUCatalog] = []
        for n in names { out.append(try VGPUCatalogParser.load(path: folder.appendingPathComponent(n).path)) }
        return VGPUCatalogSet(out)
    }

    /// The built-in catalog for a GPU with device id `deviceID`, if any.
    public static func vgpuCatalog(forDevice deviceID: UInt16, in dir: URL = bundled) -> VGPUCatalog? {
        (try? vgpuCatalogs(in: dir))?.catalog(forDevice: deviceID)
    }
}
