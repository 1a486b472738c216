import ArgumentParser
import Foundation
import HostKit
import Hypervisor

/// `vgpuctl egm`: Extended GPU Memory regions of Grace hosts.
struct EGM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "egm",
        abstract: "Extended GPU Memory (EGM) regions of Grace hosts.",
        subcommands: [ListRegions.self])

    struct ListRegions: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "EGM regions: device, size, GPUs on the socket, retired (bad ECC) pages, holders.",
            discussion: """
                Retired pages are read with the EGM_RETIRED_PAGES_LIST ioctl on /dev/egm<pxm> (the simulator's data \
                on a simulated host). The nvgrace-egm driver zero-fills a region when it is opened and lets one \
                process open it at a time, so a region a VM holds is not opened; --no-retired-pages opens none.
                """)

        @Flag(name: .customLong("no-retired-pages"), help: "Do not open the EGM devices to read retired pages.")
        var noRetiredPages = false
        @OptionGroup var host: HostOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let env = try host.environment()
            let root = env.root
            let regions = EGMRegions.report(
                root: root, source: env.egmSource, readRetiredPages: !noRetiredPages)
            if output.json {
                struct Out: Encodable { var regions: [EGMRegionReport] }
                try printJSON(Out(regions: regions))
                return
            }
            if regions.isEmpty {
                print("no EGM regions (\(root.url(HostRoot.egmClass)) is empty or missing)")
                return
            }
            print(
                renderTable(
                    ["EGM", "DEVICE", "SIZE", "GPUS", "RETIRED", "NOTE"],
                    regions.map { r in
                        let retired =
                            r.retiredPages.map { pages in
                                pages.isEmpty ? "0" : "\(pages.count): \(EGMRegions.describeOffsets(pages, limit: 4))"
                            } ?? "?"
                        return [
                            "egm\(r.pxm)", r.device, EGMRegions.humanSize(r.size),
                            r.gpus.isEmpty ? "-" : r.gpus.joined(separator: ","),
                            retired, r.retiredPagesError ?? "",
                        ]
                    }))
        }
    }
}
