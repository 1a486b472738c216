import ArgumentParser
import Foundation
import HostKit
import HostSim
import SimGPU

extension Sim {
    /// `vgpuctl sim vgpu-mode PF [enable|disable]`: the simulated GPU's FSP vGPU-mode knob, as
    /// NVIDIA's gpu-admin-tools `--query-vgpu-mode` / `--set-vgpu-mode` reach it on a real GPU.
    struct VGPUModeCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "vgpu-mode",
            abstract: "Query or set a simulated GPU's firmware vGPU mode (FSP PRC knob 0x29).",
            discussion:
                "On a real host: nvidia_gpu_tools.py --gpu-bdf=PF --query-vgpu-mode, or --set-vgpu-mode=1 and a GPU reset (NVIDIA gpu-admin-tools)."
        )

        enum Setting: String, ExpressibleByArgument, CaseIterable { case enable, disable }

        @Argument(help: ArgumentHelp("The GPU's physical function.", valueName: "PF")) var pf: String
        @Argument(help: "enable or disable (omit to query).") var setting: Setting?
        @OptionGroup var host: HostOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let address = try PCIAddress.parse(pf, what: "PCI address of the GPU")
            let root = try host.hostRoot()
            guard root.isSimulated else {
                throw CommandError.invalid(
                    .simulation,
                    "\(root.path) is not a simulated host; on a real host use NVIDIA gpu-admin-tools: nvidia_gpu_tools.py --gpu-bdf=\(address) --query-vgpu-mode / --set-vgpu-mode=1"
                )
            }
            guard let d = SysfsReader(root: root).device(address), d.physfn == nil, d.vendorID == PCIIDs.nvidiaVendor
            else {
                throw CommandError.invalid(
                    .wrongDevice,
                    "\(address) is not an NVIDIA GPU of the simulated host \(root.path); run 'vgpuctl --root \(root.path) list' to see its GPUs"
                )
            }
            let fsp = SimFSP(root: root)
            if let setting { try fsp.setVGPUMode(address, enabled: setting == .enable) }
            let mode = try fsp.vgpuMode(address)
            if output.json {
                struct Out: Encodable {
                    var pf: String
                    var vgpuMode: String
                    var knob: String
                }
                try printJSON(Out(pf: address.description, vgpuMode: mode ? "enabled" : "disabled", knob: "0x29"))
            } else {
                print(
                    "\(address): vGPU mode \(mode ? "enabled" : "disabled") (FSP PRC knob 0x29)\(setting == nil ? "" : "; takes effect at the next boot")"
                )
            }
        }
    }
}

/// The firmware vGPU mode as outputs show it.
enum VGPUModeText {
    /// `enabled`/`disabled` on a simulated host; `unknown` on a real one (vgpuctl cannot ask the
    /// FSP; NVIDIA gpu-admin-tools `--query-vgpu-mode` can).
    static func of(root: HostRoot, pf: PCIAddress) -> String {
        guard root.isSimulated, let on = try? SimFSP(root: root).vgpuMode(pf) else { return "unknown" }
        return on ? "enabled" : "disabled"
    }
}
