import ArgumentParser
import GSPMessaging
import HostKit

extension GSP {
    /// `vgpuctl gsp stop PF`.
    struct Stop: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop the gsp-stub serving a GPU (simulated host).")

        @Argument(help: ArgumentHelp("The GPU's physical function.", valueName: "PF"))
        var pf: String

        @OptionGroup var host: HostOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let address = try PCIAddress.parse(pf, what: "PCI address of the GPU")
            let root = try host.hostRoot()
            let result = SimulatedGSP(root: root, pf: address).stop()
            struct Out: Encodable { var pf: String; var stopped: Bool; var pid: Int32?; var ending: String? }
            let out = Out(pf: address.description, stopped: result != nil, pid: result?.pid, ending: result.map { "\($0.ending)" })
            if output.json { try printJSON(out); return }
            if let r = result {
                print("stopped gsp-stub for \(address) (pid \(r.pid), it \(r.ending))")
            } else {
                print("no gsp-stub was running for \(address)")
            }
        }
    }
}
