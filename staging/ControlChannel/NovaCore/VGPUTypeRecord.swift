import GSPMessaging

/// A vGPU type as it crosses the control channel: ADD_VGPU_TYPE's record and
/// QUERY_VGPU_PROPERTIES's reply, both NVKV with the keys of ``NovaCoreTable/Key``.
///
/// NVIDIA's keys carry the name, id, maximum instances and frame-buffer sizes; vgpuctl's
/// carry what its book and the firmware model need besides (placements, channels, copy
/// engines, MIG backing). Sizes in MiB on the Swift side, bytes on the wire.
public struct VGPUTypeRecord: Sendable, Equatable, Codable {
    public var id: UInt32
    public var name: String
    public var maxInstances: UInt32
    /// Frame buffer a VF of the type gets (`FB_LENGTH`).
    public var framebufferMiB: UInt32
    /// The size the name promises (`PROFILE_SIZE`).
    public var nominalMiB: UInt32
    public var series: String
    public var placementSize: UInt32
    public var placements: [UInt32]
    public var channels: UInt32
    public var copyEngines: UInt32
    public var mig: MIG?

    /// The MIG GPU instance behind a MIG-backed type.
    public struct MIG: Sendable, Equatable, Codable {
        public var profile: String
        public var computeSlices: UInt32
        public var memorySlices: UInt32
        public var memoryPlacements: [UInt32]

        public init(profile: String, computeSlices: UInt32, memorySlices: UInt32, memoryPlacements: [UInt32]) {
            self.profile = profile
            self.computeSlices = computeSlices
            self.memorySlices = memorySlices
            self.memoryPlacements = memoryPlacements
        }
    }

    public init(
        id: UInt32, name: String, maxInstances: UInt32, framebufferMiB: UInt32, nominalMiB: UInt32, series: String,
        placementSize: UInt32, placements: [UInt32], channels: UInt32, copyEngines: UInt32, mig: MIG?
    ) {
        self.id = id
        self.name = name
        self.maxInstances = maxInstances
        self.framebufferMiB = framebufferMiB
        self.nominalMiB = nominalMiB
        self.series = series
        self.placementSize = placementSize
        self.placements = placements
        self.channels = channels
        self.copyEngines = copyEngines
        self.mig = mig
    }

    /// The record as an NVKV stream.
    public var nvkv: [UInt8] {
        typealias K = NovaCoreTable.Key
        var e = NVKV.Encoder()
        e.string(K.typeName, name)
        e.u32(K.typeID, id)
        e.u32(K.maxInstance, maxInstances)
        e.u64(K.profileSize, UInt64(nominalMiB) << 20)
        e.u64(K.fbLength, UInt64(framebufferMiB) << 20)
        e.string(K.series, series)
        e.u32(K.placementSize, placementSize)
        e.u32s(K.placements, placements)
        e.u32(K.channels, channels)
        e.u32(K.copyEngines, copyEngines)
        if let mig {
            e.string(K.migProfile, mig.profile)
            e.u32(K.migComputeSlices, mig.computeSlices)
            e.u32(K.migMemorySlices, mig.memorySlices)
            e.u32s(K.migMemoryPlacements, mig.memoryPlacements)
        }
        return e.encoded
    }

    /// Reads a record from an NVKV stream. Unknown keys are skipped (as NVIDIA's decoder does);
    /// the type id and name must be there; a MIG profile needs its slices.
    public init(nvkv bytes: [UInt8]) throws(NVKV.DecodeError) {
        typealias K = NovaCoreTable.Key
        var byKey: [UInt16: NVKV.Value] = [:]
        for entry in try NVKV.decode(bytes) where entry.index == 0 && byKey[entry.key] == nil {
            byKey[entry.key] = entry.value
        }
        func need<T>(_ key: UInt16, _ what: String, _ get: (NVKV.Value) -> T?) throws(NVKV.DecodeError) -> T {
            guard let v = byKey[key] else {
                throw NVKV.DecodeError(
                    offset: 0, reason: "the vGPU type lacks key 0x\(String(key, radix: 16)) (\(what))")
            }
            guard let t = get(v) else {
                throw NVKV.DecodeError(
                    offset: 0, reason: "key 0x\(String(key, radix: 16)) (\(what)) has the wrong kind of value: \(v)")
            }
            return t
        }
        func optional<T>(_ key: UInt16, _ what: String, _ get: (NVKV.Value) -> T?, default d: T) throws(NVKV
            .DecodeError) -> T
        {
            byKey[key] == nil ? d : try need(key, what, get)
        }
        id = try need(K.typeID, "TYPE_ID", \.u32)
        guard id != 0 else { throw NVKV.DecodeError(offset: 0, reason: "TYPE_ID is 0, which names no type") }
        name = try need(K.typeName, "TYPE_NAME", \.string)
        maxInstances = try optional(K.maxInstance, "MAX_INSTANCE", \.u32, default: 0)
        framebufferMiB = UInt32(clamping: try optional(K.fbLength, "FB_LENGTH", \.u64, default: 0) >> 20)
        nominalMiB = UInt32(clamping: try optional(K.profileSize, "PROFILE_SIZE", \.u64, default: 0) >> 20)
        series = try optional(K.series, "series", \.string, default: "")
        placementSize = try optional(K.placementSize, "placement size", \.u32, default: 0)
        placements = try optional(K.placements, "placements", \.u32s, default: [])
        channels = try optional(K.channels, "channels", \.u32, default: 0)
        copyEngines = try optional(K.copyEngines, "copy engines", \.u32, default: 0)
        if byKey[K.migProfile] != nil {
            mig = MIG(
                profile: try need(K.migProfile, "MIG profile", \.string),
                computeSlices: try need(K.migComputeSlices, "MIG compute slices", \.u32),
                memorySlices: try need(K.migMemorySlices, "MIG memory slices", \.u32),
                memoryPlacements: try optional(K.migMemoryPlacements, "MIG memory placements", \.u32s, default: []))
        } else {
            mig = nil
        }
    }
}
