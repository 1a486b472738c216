import Foundation
import HostKit

/// The simulated GPUs' FSP settings that outlive a boot, in `.vgpuctl-sim-fsp.json` beside the
/// sim marker: for now the vGPU-mode knob ("PRC knob 0x29", which NVIDIA's gpu-admin-tools
/// reads with `--query-vgpu-mode` and writes with `--set-vgpu-mode`). A GPU nobody set reads
/// Enabled, as the simulated hosts model vGPU-ready GPUs.
public struct SimFSP {
    public let root: HostRoot
    public static let file = ".vgpuctl-sim-fsp.json"

    public init(root: HostRoot) { self.root = root }

    package struct Settings: Codable { var vgpuMode: [String: Bool] = [:] }

    package func load() throws(SimGPUError) -> Settings {
        guard let data = FileManager.default.contents(atPath: root.url(Self.file)) else { return Settings() }
        do { return try JSONDecoder().decode(Settings.self, from: data) } catch {
            throw .failed(.stateFile, "\(root.url(Self.file)) is damaged: \(error)", underlying: error)
        }
    }

    /// The vGPU-mode knob of `pf`.
    public func vgpuMode(_ pf: PCIAddress) throws(SimGPUError) -> Bool {
        try load().vgpuMode[pf.description] ?? true
    }

    /// Sets the knob (takes effect at the next boot, as on a real GPU after its reset).
    public func setVGPUMode(_ pf: PCIAddress, enabled: Bool) throws(SimGPUError) {
        var s = try load()
        s.vgpuMode[pf.description] = enabled
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try SimGPUError.wrapping(.stateFile) { try AtomicFile.write(try enc.encode(s), to: root.url(Self.file)) }
    }
}
