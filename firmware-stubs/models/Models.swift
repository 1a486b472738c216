import Foundation
import Yams

/// GPU and host models as data, shared by the simulator (HostSim) and the firmware stub.
///
/// `gpus/<name>.yaml` describes one GPU part (identity, BARs, SR-IOV capability, memory);
/// `hosts/<name>.yaml` describes a whole simulated host (which devices sit where, drivers,
/// IOMMU groups, NUMA, EGM). Every number carries its source or is marked as assumed in the
/// YAML comments.
public enum Models {
    /// The bundled directory holding `gpus/` and `hosts/`. Executables may point at another
    /// copy (`VGPUCTL_MODELS`, read at their edge: ``directory(override:)``).
    public static var bundled: URL {
        Bundle.module.resourceURL ?? Bundle.module.bundleURL
    }

    /// `override` (the value of `VGPUCTL_MODELS`, which an executable reads) when it is set and
    /// not empty, else the bundled copy.
    public static func directory(override: String?) -> URL {
        if let override, !override.isEmpty { return URL(fileURLWithPath: override) }
        return bundled
    }

    /// Names of the host models (`hosts/*.yaml` without extension), sorted.
    public static func hostNames(in dir: URL = bundled) -> [String] {
        names(in: dir.appendingPathComponent("hosts"))
    }

    /// Names of the GPU models, sorted.
    public static func gpuNames(in dir: URL = bundled) -> [String] {
        names(in: dir.appendingPathComponent("gpus"))
    }

    private static func names(in dir: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? [])
            .filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }.sorted()
    }

    /// Loads host model `name` and every GPU model it refers to.
    public static func loadHost(_ name: String, from dir: URL = bundled) throws(ModelError) -> LoadedHost {
        guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }), !name.isEmpty,
            hostNames(in: dir).contains(name)
        else {
            throw ModelError(
                message: "unknown model '\(name)'; known models: \(hostNames(in: dir).joined(separator: ", "))")
        }
        let host: HostModel = try decode(dir.appendingPathComponent("hosts/\(name).yaml"))
        let catalog: DriverCatalog = try decode(dir.appendingPathComponent("drivers.yaml"))
        var drivers: [DriverSpec] = []
        for d in host.drivers {
            guard let spec = catalog.drivers.first(where: { $0.name == d }) else {
                throw ModelError(message: "hosts/\(name).yaml: driver '\(d)' is not described in drivers.yaml")
            }
            drivers.append(spec)
        }
        var gpus: [String: DeviceSpec] = [:]
        for dev in host.devices {
            if let m = dev.model, gpus[m] == nil {
                guard gpuNames(in: dir).contains(m) else {
                    throw ModelError(
                        message:
                            "hosts/\(name).yaml: device \(dev.address) names GPU model '\(m)', which has no file gpus/\(m).yaml"
                    )
                }
                gpus[m] = try loadGPU(m, from: dir)
            }
            if dev.model == nil && dev.spec == nil {
                throw ModelError(message: "hosts/\(name).yaml: device \(dev.address) has neither 'model' nor 'spec'")
            }
        }
        return LoadedHost(host: host, gpus: gpus, drivers: drivers)
    }

    /// Loads one GPU model.
    public static func loadGPU(_ name: String, from dir: URL = bundled) throws(ModelError) -> DeviceSpec {
        guard gpuNames(in: dir).contains(name) else {
            throw ModelError(
                message: "unknown GPU model '\(name)'; known: \(gpuNames(in: dir).joined(separator: ", "))")
        }
        var spec: DeviceSpec = try decode(dir.appendingPathComponent("gpus/\(name).yaml"))
        if let file = spec.configSpace {
            spec.configSpaceBytes = try configSpace(dir.appendingPathComponent("gpus/\(file)"), model: name)
        }
        return spec
    }

    /// A captured config space in hex text (`#` comment lines, then hex digits): 4096 bytes.
    static func configSpace(_ url: URL, model: String) throws(ModelError) -> [UInt8] {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw ModelError(message: "gpus/\(model).yaml: cannot read its config space \(url.path)")
        }
        var out: [UInt8] = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let hex = Array(line.filter { !$0.isWhitespace })
            guard hex.count % 2 == 0 else {
                throw ModelError(message: "\(url.path): a line has an odd number of hex digits")
            }
            for i in stride(from: 0, to: hex.count, by: 2) {
                guard let b = UInt8(String(hex[i...i + 1]), radix: 16) else {
                    throw ModelError(message: "\(url.path): '\(String(hex[i...i + 1]))' is not hex")
                }
                out.append(b)
            }
        }
        guard out.count == 4096 else { throw ModelError(message: "\(url.path): \(out.count) bytes, want 4096") }
        return out
    }

    static func decode<T: Decodable>(_ url: URL) throws(ModelError) -> T {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw ModelError(message: "cannot read \(url.path): \(error.localizedDescription)")
        }
        do { return try YAMLDecoder().decode(T.self, from: text) } catch {
            throw ModelError(message: "\(url.path): \(error)")
        }
    }
}

/// A model file that is missing or malformed.
public struct ModelError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}

/// A host model with the GPU models it refers to.
public struct LoadedHost: Sendable {
    public var host: HostModel
    public var gpus: [String: DeviceSpec]
    /// The drivers loaded on the host, described.
    public var drivers: [DriverSpec]

    /// The spec of a host device: its GPU model, or its inline spec.
    public func spec(of device: HostModel.Device) -> DeviceSpec {
        if let m = device.model, let g = gpus[m] { return g }
        return device.spec ?? DeviceSpec()
    }
}

/// A number written in decimal, hex (`0x...`) or as a size with a binary suffix (`16M`, `128G`).
public struct Num: Codable, Sendable, Hashable, ExpressibleByIntegerLiteral {
    public var value: UInt64
    public init(_ v: UInt64) { value = v }
    public init(integerLiteral v: UInt64) { value = v }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let i = try? c.decode(UInt64.self) {
            value = i
            return
        }
        let s = try c.decode(String.self).trimmingCharacters(in: .whitespaces)
        guard let v = Num.parse(s) else {
            throw DecodingError.dataCorruptedError(
                in: c, debugDescription: "'\(s)' is not a number (decimal, 0x hex, or a size like 16M / 128G)")
        }
        value = v
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(value)
    }

    public static func parse(_ s: String) -> UInt64? {
        if s.hasPrefix("0x") || s.hasPrefix("0X") { return UInt64(s.dropFirst(2), radix: 16) }
        let units: [Character: UInt64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
        if let last = s.last, let mul = units[last], let n = UInt64(s.dropLast()) {
            let (r, o) = n.multipliedReportingOverflow(by: mul)
            return o ? nil : r
        }
        return UInt64(s)
    }
}

/// One PCI function's hardware description: identity, BARs, capabilities.
public struct DeviceSpec: Codable, Sendable {
    public var name: String?
    public var vendorID: Num = 0xffff
    public var deviceID: Num = 0xffff
    public var subsystemVendorID: Num?
    public var subsystemDeviceID: Num?
    /// 24-bit class code, e.g. 0x030200 (3D controller).
    public var classCode: Num = 0
    public var revision: Num?
    /// PCIe port type for the PCI Express capability: `endpoint` (default), `rootPort`,
    /// `upstream`, `downstream`.
    public var portType: String?
    public var bars: [BARSpec]?
    public var sriov: SRIOVSpec?
    /// Whether the device has a Device Serial Number capability.
    public var serialNumber: Bool?
    /// NVIDIA vendor DVSEC (id 3) bitmap at offset 0xA, when the part has the DVSEC.
    public var nvidiaDVSECBitmap: Num?
    /// Frame buffer (HBM/GDDR) in MiB.
    public var memoryMiB: Num?
    /// A file beside the GPU model with a real function's config space (hex): the simulator
    /// starts from those bytes instead of building a header and capability lists.
    public var configSpace: String?
    /// The bytes of `configSpace`, filled in when the model is loaded.
    public var configSpaceBytes: [UInt8]?
    /// Where the numbers come from.
    public var sources: [String]?

    public init() {}
}

/// One BAR of a function (or of its VFs).
public struct BARSpec: Codable, Sendable {
    public var index: Int
    public var size: Num
    public var is64Bit: Bool?
    public var prefetchable: Bool?
}

/// The SR-IOV capability of a PF.
public struct SRIOVSpec: Codable, Sendable {
    public var totalVFs: Int
    public var initialVFs: Int?
    public var vfOffset: Int
    public var vfStride: Int
    public var vfDeviceID: Num
    /// Per-VF BAR sizes.
    public var vfBars: [BARSpec]?
    /// Offset of the capability in extended config space (real NVIDIA parts: 0xbcc).
    public var capOffset: Num?
    /// Class code of the VFs when it differs from the PF's.
    public var vfClassCode: Num?
}

/// A simulated host.
public struct HostModel: Codable, Sendable {
    public var name: String
    public var description: String
    public var sources: [String]?
    /// Names of the PCI drivers loaded on the host (described in `drivers.yaml`).
    public var drivers: [String]
    public var devices: [Device]
    public var numaNodes: [NUMANode]?
    public var egm: [EGMRegion]?
    /// How a real host of this model offers vGPU types (`vendor`, `mdev`, `upstream`; absent:
    /// none): what `vgpuctl sim create` uses unless `--vgpu-interface` says otherwise.
    public var vgpuInterface: String?

    /// One PCI function placed in the host.
    public struct Device: Codable, Sendable {
        public var address: PCIAddressText
        /// The upstream bridge, when the function sits behind one.
        public var parent: PCIAddressText?
        /// A GPU model in `gpus/`.
        public var model: String?
        /// An inline spec for anything that is not a GPU model (bridges, NICs, audio functions).
        public var spec: DeviceSpec?
        /// The driver bound at creation, if any.
        public var driver: String?
        public var iommuGroup: Int
        public var numaNode: Int?
        /// The DSN value, when the spec has the capability.
        public var serial: Num?
        /// Base address for the BARs, allocated upwards aligned to each BAR's size.
        public var barBase: Num?
        /// Explicit BAR addresses by BAR index (from a real capture).
        public var barAddresses: [Int: Num]?
        /// Base address of the VF BARs.
        public var vfBarBase: Num?
    }

    /// A host NUMA node (for Grace: one memory node plus empty nodes per GPU).
    public struct NUMANode: Codable, Sendable {
        public var id: Int
        public var cpus: String?
        public var memoryMiB: Num?
        /// The GPU this node belongs to, for GPU memory nodes.
        public var gpu: PCIAddressText?
    }

    /// An EGM region (one per socket).
    public struct EGMRegion: Codable, Sendable {
        public var pxm: Int
        public var size: Num
        public var gpus: [PCIAddressText]
        /// Offsets (relative to the region's base) of retired pages.
        public var retiredPages: [Num]?
    }
}

/// A PCI address as written in a model file (`DDDD:BB:DD.F`), checked by HostSim.
public typealias PCIAddressText = String

/// `drivers.yaml`: the PCI drivers the simulated kernel can have loaded.
public struct DriverCatalog: Codable, Sendable {
    public var drivers: [DriverSpec]
}

/// A PCI driver the simulated kernel knows: which devices it binds and what it can do.
public struct DriverSpec: Codable, Sendable {
    public var name: String
    /// Devices it binds on probe (its id table).
    public var match: [Match]?
    /// Devices it binds only through `driver_override` (`PCI_DRIVER_OVERRIDE_DEVICE_VFIO`).
    public var overrideOnly: [Match]?
    /// Whether it implements `sriov_configure` (else writing `sriov_numvfs` gives ENOENT).
    public var sriovConfigure: Bool?
    /// Whether it is a VFIO driver (binding creates `/dev/vfio/<group>`).
    public var vfio: Bool?

    public struct Match: Codable, Sendable, Hashable {
        public var vendor: Num
        public var device: Num?
        /// Base class byte (e.g. 0x03 display), when the entry matches by class.
        public var classBase: Num?
        /// Base class and subclass (e.g. 0x0604), when the entry matches by class.
        public var classCode: Num?
    }
}
