import ArgumentParser
import Foundation
import HostKit
import Reconcile

/// `--guest NAME [-f FILE] [-c NAME]`: the devices a guest got from the applied host config.
///
/// The VFs come from what `apply` recorded (`var/lib/vgpuctl/guests.json`), so they are the ones
/// apply actually gave the guest. The host config (`-f`, or `etc/vgpuctl/host.yaml` under the
/// root when it exists) is read to check the guest exists there and that the host matches it.
struct GuestOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The devices the applied host config gave this guest (as 'apply' recorded them), before any named ones.",
            valueName: "NAME"))
    var guest: String?

    @Option(
        name: [.customShort("f"), .customLong("file")],
        help: ArgumentHelp(
            "With --guest: the host config that names it (default: etc/vgpuctl/host.yaml under the root, when it exists).",
            valueName: "FILE"))
    var file: String?

    @Option(
        name: [.customShort("c"), .customLong("config")],
        help: ArgumentHelp("With --guest: which config of the file.", valueName: "NAME"))
    var config: String?

    /// The guest's VFs (address order), then `given`.
    func names(_ given: [String], root: HostRoot) throws -> [String] {
        guard let guest else {
            if file != nil || config != nil { throw CommandError.invalid(.badOption, "-f and -c go with --guest NAME") }
            return given
        }
        guard !guest.isEmpty else { throw CommandError.invalid(.badOption, "--guest needs a guest name") }
        if try Journal.load(root) != nil {
            throw CommandError.failed(
                .notApplied,
                "an apply was interrupted (\(root.url(Journal.file))), so the guests' devices are not settled; run 'vgpuctl recover' first"
            )
        }
        let recorded = try GuestAssignments.load(root)
        let mine = recorded.vfs(of: guest)
        let installed = root.url(GuestAssignments.defaultConfig)
        if let path = file ?? (FileManager.default.fileExists(atPath: installed) ? installed : nil) {
            let cfg = try HostConfigParser.load(path: path, config: config)
            let want = cfg.guests
            guard let n = want[guest] else {
                throw CommandError.invalid(
                    .notInConfig,
                    "\(path) (config '\(cfg.name)') names no guest '\(guest)'; it names \(want.isEmpty ? "none" : want.keys.sorted().joined(separator: ", "))"
                )
            }
            if mine.count != n {
                throw CommandError.failed(
                    .notApplied,
                    "config '\(cfg.name)' of \(path) gives '\(guest)' \(n) VF\(n == 1 ? "" : "s"), but the applied state (\(root.url(GuestAssignments.file))) has \(mine.count); run 'vgpuctl apply -f \(path)' first"
                )
            }
        } else if config != nil {
            throw CommandError.invalid(.badOption, "-c goes with -f FILE (no \(installed))")
        } else if mine.isEmpty {
            let known = Set(recorded.vfs.values).sorted()
            throw CommandError.invalid(
                .notInConfig,
                "no guest '\(guest)' in what apply recorded (\(root.url(GuestAssignments.file))): \(known.isEmpty ? "no host config naming guests has been applied" : "the guests are " + known.joined(separator: ", ")); apply a host config that names it ('vgpuctl apply -f FILE')"
            )
        }
        return mine.map(\.description) + given
    }
}
