import ArgumentParser
import GSPMessaging
import HostKit

extension GSP {
    /// `vgpuctl gsp status [PF]`.
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status", abstract: "Show the gsp-stub processes of a simulated host.")

        @Argument(help: ArgumentHelp("Only this GPU.", valueName: "PF"))
        var pf: String?

        @OptionGroup var host: HostOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let only = try pf.map { s throws(VGPUError) in try PCIAddress.parse(s, what: "PCI address of the GPU") }
            let root = try host.hostRoot()
            var all = SimulatedGSP.all(root: root)
            if let only {
                all = all.filter { $0.pf == only.description }
                // A stub of a device that is gone is still shown; an address that names nothing is refused.
                if all.isEmpty {
                    try CommandError.requireDevice(only, root: root, hint: "run 'vgpuctl list' to see the GPUs")
                }
            }
            for i in all.indices { all[i].vgpuMode = PCIAddress(all[i].pf).map { VGPUModeText.of(root: root, pf: $0) } }
            if output.json {
                try printJSON(all)
                return
            }
            if all.isEmpty {
                print(
                    root.isSimulated
                        ? "no gsp-stub running\(only.map { " for \($0)" } ?? ""); start one with 'vgpuctl gsp boot PF'"
                        : "no gsp-stub on this host: on a real host the kernel driver runs GSP-RM")
                return
            }
            print(
                renderTable(
                    [
                        "PF", "PID", "MODEL", "PROCESS", "FIRMWARE", "WIRE FORMAT", "BOOTED", "VGPU", "VGPU MODE",
                        "SHARED FILE",
                    ],
                    all.map {
                        [
                            $0.pf, String($0.pid), $0.model, $0.process, $0.firmware, $0.wireFormat ?? "r570.144",
                            $0.booted ? "yes" : "no", $0.vgpu.map { $0 ? "on" : "off" } ?? "-",
                            Self.modeText($0), $0.sharedFile,
                        ]
                    }))
        }

        /// The vGPU-mode setting, marked when it differs from what the running firmware booted
        /// with (a change takes effect at the next boot).
        static func modeText(_ s: GSPStubStatus) -> String {
            let mode = s.vgpuMode ?? "unknown"
            switch (s.vgpu, mode) {
            case (true, "disabled"), (false, "enabled"): return mode + " (next boot)"
            default: return mode
            }
        }
    }
}
