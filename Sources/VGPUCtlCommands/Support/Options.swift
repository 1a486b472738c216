import ArgumentParser
import Foundation
import HostKit
import HostSim

/// Options every command that looks at a host takes.
struct HostOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Host root directory (default /, or VGPUCTL_ROOT).", valueName: "DIR"))
    var root: String?

    /// The validated root.
    func hostRoot() throws(CommandError) -> HostRoot {
        let r = HostRoot.resolve(option: root, environment: ProcessInfo.processInfo.environment)
        do { try r.validate() } catch { throw CommandError(.badOption, wrapping: error) }
        // A simulated kernel write whose writer died is completed before anything reads the
        // tree, as a real kernel would have finished it (an unwritable root is left as it is).
        if r.isSimulated, access(r.path, W_OK) == 0 {
            do { try SimulatedKernel(root: r).settle() } catch {
                throw .failed(
                    .simulation,
                    "the simulated host \(r.path) has a kernel write its writer left unfinished (\(r.url(".vgpuctl-sim-pending.json"))) that cannot be completed: \(error); recreate the host with 'vgpuctl sim create --force'",
                    underlying: error)
            }
        }
        return r
    }

    /// The validated root and what goes with it (``HostEnvironment``).
    func environment() throws(CommandError) -> HostEnvironment {
        HostEnvironment(root: try hostRoot())
    }
}

/// `--json` for machine-readable output.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false
}

/// Encodes `value` as pretty, key-sorted JSON and prints it.
/// ``PrettyJSON`` writes it in pieces (nothing before the whole value is known to be writable);
/// otherwise `JSONEncoder`'s bytes are printed at once.
func printJSON<T: Encodable>(_ value: T) throws {
    try printJSON(value) { FileHandle.standardOutput.write(Data($0)) }
}

/// `printJSON` to `out` (tests), the final newline included.
func printJSON<T: Encodable>(_ value: T, chunk: Int = 1 << 16, to out: ([UInt8]) -> Void) throws {
    do {
        try PrettyJSON.write(value, chunk: chunk, to: out)
        out([UInt8(ascii: "\n")])
    } catch {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        out(Array(try enc.encode(value)) + [UInt8(ascii: "\n")])
    }
}

/// A plain text table with a header row, columns padded to their widest cell.
func renderTable(_ header: [String], _ rows: [[String]]) -> String {
    var widths = header.map(\.count)
    for r in rows { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { i, c in
            i == cells.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0)
        }.joined(separator: "  ")
    }
    return ([line(header)] + rows.map(line)).joined(separator: "\n")
}
