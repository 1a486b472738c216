import Foundation
import HostKit

/// The vGPU profile catalogs in force on a host: the built-in ones (`vgpu/*.yaml` of this module)
/// overlaid with the operator's files in `etc/vgpuctl/profiles/*.yaml` under the host root. An
/// operator's catalog replaces the built-in one for the same device id.
public struct VGPUProfiles: Sendable {
    public let catalogs: VGPUCatalogSet

    /// Where operators put profile files, relative to the host root.
    public static let userDirectory = "etc/vgpuctl/profiles"

    public init(_ catalogs: VGPUCatalogSet) { self.catalogs = catalogs }

    /// Loads the built-in catalogs and the root's profile files. A malformed file is invalid
    /// input (exit 2) naming `file:line:column` and what is wrong.
    public static func load(root: HostRoot, builtIn: URL = VGPUCatalogSet.builtInDirectory) throws(VGPUTypesError)
        -> VGPUProfiles
    {
        let base: VGPUCatalogSet
        do { base = try VGPUCatalogSet.builtIn(in: builtIn) } catch {
            throw .failed(
                .builtInCatalog, "a built-in vGPU profile catalog is broken: \(error.message)", underlying: error)
        }
        let dir = root.url(userDirectory)
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [])
            .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
        var mine: [VGPUCatalog] = []
        for n in names {
            do { mine.append(try VGPUCatalogParser.load(path: dir + "/" + n)) } catch {
                throw .invalid(.profileFile, "vGPU profile file \(error.message)", underlying: error)
            }
        }
        return VGPUProfiles(base.overlaid(with: mine))
    }

    /// The catalog for a GPU (by its PCI device id), if any.
    public func catalog(for gpu: PCIDevice) -> VGPUCatalog? {
        guard gpu.vendorID == 0x10de else { return nil }
        return catalogs.catalog(forDevice: gpu.deviceID)
    }

    /// The catalog for `gpu`, or invalid input naming the device id and where catalogs live.
    public func requireCatalog(for gpu: PCIDevice) throws(VGPUTypesError) -> VGPUCatalog {
        guard let c = catalog(for: gpu) else {
            throw .invalid(
                .noCatalog,
                "no vGPU profile catalog covers \(gpu.address) (\(gpu.id)); add one for device 0x\(hex(gpu.deviceID, 4)) in \(Self.userDirectory)/ under the host root"
            )
        }
        return c
    }

    /// Resolves a type name for `gpu`. Unknown names and types of another GPU model are invalid
    /// input with a sentence that says which GPU the type belongs to and which types fit.
    public func type(_ name: String, for gpu: PCIDevice) throws(VGPUTypesError) -> (VGPUCatalog, VGPUCatalog.VGPUType) {
        let c = try requireCatalog(for: gpu)
        if let t = c.type(named: name) { return (c, t) }
        let owners = catalogs.catalogs(definingType: name)
        if let o = owners.first {
            throw .invalid(
                .unknownType,
                "\(name) is a vGPU type of the \(o.gpu.name) (device \(o.gpu.deviceIDs.map { "0x" + hex($0, 4) }.joined(separator: "/"))); \(gpu.address) is a \(c.gpu.name) (\(gpu.id)), whose types are \(c.name)-*: see 'vgpuctl profile list \(gpu.address)'"
            )
        }
        let near = c.types.map(\.name).filter { $0.lowercased() == name.lowercased() }
        throw .invalid(
            .unknownType,
            "unknown vGPU type '\(name)' for \(gpu.address) (\(c.gpu.name))\(near.isEmpty ? "" : "; did you mean \(near[0])?"); its types are \(Self.sample(c)); see 'vgpuctl profile list \(gpu.address)'"
        )
    }

    static func sample(_ c: VGPUCatalog) -> String {
        let names = c.types.map(\.name)
        return names.count <= 8
            ? names.joined(separator: ", ") : names.prefix(6).joined(separator: ", ") + ", … (\(names.count) in all)"
    }
}
