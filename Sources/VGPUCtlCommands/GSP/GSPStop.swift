import ArgumentParser
import GSPMessaging
import HostKit

extension GSP {
    /// `vgpuctl gsp stop PF`.
    struct Stop: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stop",
            abstract: "Stop the gsp-stub serving a GPU (simulated host) through the unload path.",
            discussion:
                "Sends UNLOADING_GUEST_DRIVER (47), after which the firmware runs the Booter Unloader and FWSEC-SB and goes; a stub that does not answer is terminated."
        )

        @Argument(help: ArgumentHelp("The GPU's physical function.", valueName: "PF"))
        var pf: String

        @OptionGroup var host: HostOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let address = try PCIAddress.parse(pf, what: "PCI address of the GPU")
            let env = try host.environment()
            let result = env.gsp(address).unloadAndStop()
            // Nothing stopped and no such device: the address is wrong, not the stub already gone.
            if result == nil {
                try CommandError.requireDevice(
                    address, root: env.root, hint: "run 'vgpuctl gsp status' to see the stubs")
            }
            struct Out: Encodable {
                var pf: String
                var stopped: Bool
                var pid: Int32?
                var ending: String?
                var unloaded: Bool
                var unloadSkipped: String?
            }
            let out = Out(
                pf: address.description, stopped: result != nil, pid: result?.pid,
                ending: result.map { "\($0.ending)" },
                unloaded: result?.unloaded ?? false, unloadSkipped: result?.skipped)
            if output.json {
                try printJSON(out)
                return
            }
            if let r = result {
                let how =
                    r.unloaded
                    ? "UNLOADING_GUEST_DRIVER acknowledged, the unloaders ran"
                    : "no unload (\(r.skipped ?? "?")); terminated"
                print("stopped gsp-stub for \(address) (pid \(r.pid)): \(how); it \(r.ending)")
            } else {
                print("no gsp-stub was running for \(address)")
            }
        }
    }
}
