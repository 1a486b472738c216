import ArgumentParser
import Foundation
import HostKit

/// The `vgpuctl` root command.
public struct VGPUCtl: ParsableCommand {
    public static let version = "0.1.0"

    public static let configuration = CommandConfiguration(
        commandName: "vgpuctl",
        abstract:
            "Hand NVIDIA GPUs to virtual machines: whole (VFIO passthrough, Grace + EGM) or as SR-IOV VFs with vGPU types.",
        discussion: """
            Exit status: 0 success; 1 the operation failed; 2 invalid input (arguments, files); \
            4 refused because it would harm something in use (--force overrides where it makes sense).

            --debug (anywhere on the command line) or VGPUCTL_DEBUG=1: on an error, also print its \
            stable code (e.g. passthrough.inUse) and the chain of errors underneath it (the failed \
            system call with its errno and path), one 'vgpuctl: debug:' line each.

            As 'vgpuctl vgpu-dm' (or invoked as nvidia-vgpu-dm) it answers NVIDIA vgpu-device-manager's \
            command line with its exit statuses (see 'vgpuctl vgpu-dm --help').
            """,
        version: version,
        subcommands: [
            List.self, VF.self, Profile.self, PassthroughCommand.self, QEMU.self, Libvirt.self, LibvirtHookCommand.self,
            QMP.self, EGM.self, PlanCommand.self, ApplyCommand.self, AssertCommand.self, RecoverCommand.self, Sim.self,
            GSP.self, Control.self, Export.self, DevicePluginCommand.self,
        ]
    )

    public init() {}

    /// Parses the arguments, runs the command and exits with vgpuctl's exit status.
    ///
    /// Argument errors print one line on stderr and exit 2; help and `--version` exit 0.
    public static func run(arguments: [String]? = nil) -> Never {
        let given = hoistGlobalRoot(arguments ?? Array(CommandLine.arguments.dropFirst()))
        // NVIDIA vgpu-device-manager's command line: under its name, or as `vgpuctl vgpu-dm`
        // (its own -d/--debug is left to it).
        if arguments == nil, let argv0 = CommandLine.arguments.first, VGPUDMCommand.invokedUnderOwnName(argv0) {
            VGPUDMCommand.run(arguments: given)
        }
        if given.first == "vgpu-dm" { VGPUDMCommand.run(arguments: Array(given.dropFirst())) }
        let (debugFlag, args) = takeDebugFlag(given)
        // The environment is read only when an error is to be printed.
        func debug() -> Bool {
            debugFlag || ProcessInfo.processInfo.environment["VGPUCTL_DEBUG"].map { !$0.isEmpty && $0 != "0" } == true
        }
        // `--version` alone: answered before the argument parser builds the command tree (what
        // it prints is the same: the version and a newline).
        if args == ["--version"] {
            print(version)
            Foundation.exit(0)
        }
        let command: ParsableCommand
        do {
            command = try parseFast(args)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            printError(message(for: error) + " (see 'vgpuctl --help')")
            Foundation.exit(ExitStatus.invalidInput.rawValue)
        }
        do {
            var c = command
            try c.run()
            Foundation.exit(0)
        } catch let e as any CodedError {
            printError(e.message)
            if debug() { printErrorChain(e) }
            Foundation.exit(e.status.rawValue)
        } catch let e as ExitCode {
            Foundation.exit(e.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                // Help and --version arrive here (as a clean exit thrown by the help command).
                let text = fullMessage(for: error)
                if !text.isEmpty { print(text) }
                Foundation.exit(0)
            }
            printError(message(for: error))
            if debug() { printErrorChain(error) }
            Foundation.exit(code == .validationFailure ? ExitStatus.invalidInput.rawValue : ExitStatus.failed.rawValue)
        }
    }
}

extension VGPUCtl {
    /// Parses `args` as `parseAsRoot` does, building only the named subcommand's branch of the
    /// command tree when the first argument names a subcommand (`vgpuctl list ...`): the parser
    /// then visits and names that branch alone instead of every command. Help, usage lines,
    /// errors and exit statuses are the same (Tests/CLI/surface.json records them); anything
    /// else (`--help`, `help list`, a typo) is parsed against the whole tree.
    static func parseFast(_ args: [String]) throws -> ParsableCommand {
        if let first = args.first, !first.hasPrefix("-") {
            for sub in configuration.subcommands where sub.configuration.commandName == first {
                return try parse(args, through: sub)
            }
        }
        return try parseAsRoot(args)
    }

    static func parse<Sub: ParsableCommand>(_ args: [String], through _: Sub.Type) throws -> ParsableCommand {
        try OneBranch<Sub>.parseAsRoot(args)
    }

    /// `vgpuctl` with one subcommand: the root the parser sees for `vgpuctl <Sub> ...`.
    struct OneBranch<Sub: ParsableCommand>: ParsableCommand {
        static var configuration: CommandConfiguration {
            var c = VGPUCtl.configuration
            c.subcommands = [Sub.self]
            return c
        }
    }

    /// Takes `--debug` out of the arguments (anywhere before a `--`; no subcommand has an option
    /// of that name): whether it was there, and the rest.
    static func takeDebugFlag(_ args: [String]) -> (Bool, [String]) {
        let end = args.firstIndex(of: "--") ?? args.endIndex
        let head = args[..<end]
        guard head.contains("--debug") else { return (false, args) }
        return (true, head.filter { $0 != "--debug" } + args[end...])
    }

    /// `--root DIR` may stand before the subcommand (`vgpuctl --root DIR list`): it is taken out
    /// there and handed to the subcommand through `VGPUCTL_ROOT`, which every command reads when
    /// it has no `--root` of its own.
    static func hoistGlobalRoot(_ args: [String]) -> [String] {
        var out: [String] = []
        var i = 0
        var seenSubcommand = false
        while i < args.count {
            let a = args[i]
            if !seenSubcommand && a == "--root" && i + 1 < args.count {
                setenv("VGPUCTL_ROOT", args[i + 1], 1)
                i += 2
                continue
            }
            if !seenSubcommand && a.hasPrefix("--root=") {
                setenv("VGPUCTL_ROOT", String(a.dropFirst(7)), 1)
                i += 1
                continue
            }
            if !a.hasPrefix("-") { seenSubcommand = true }
            out.append(a)
            i += 1
        }
        return out
    }
}

/// Prints `vgpuctl: error: <message>` on stderr, on one line.
func printError(_ message: String) {
    let line = "vgpuctl: error: " + message.replacingOccurrences(of: "\n", with: " ") + "\n"
    FileHandle.standardError.write(Data(line.utf8))
}

/// Prints, for `--debug`, the code and message of `error` and of each error underneath it, one
/// `vgpuctl: debug: ` line each, indented by depth.
func printErrorChain(_ error: any Error) {
    var text = ""
    var depth = 0
    for line in ErrorChain.lines(error) {
        let isCause = line.hasPrefix("  cause: ")
        if !isCause && !text.isEmpty { depth += 1 }
        let indent = String(repeating: "  ", count: depth)
        text += "vgpuctl: debug: " + indent + line.replacingOccurrences(of: "\n", with: " ") + "\n"
    }
    FileHandle.standardError.write(Data(text.utf8))
}

/// Prints a warning on stderr.
func printWarning(_ message: String) {
    FileHandle.standardError.write(Data(("vgpuctl: warning: " + message + "\n").utf8))
}
