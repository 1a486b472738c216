import ArgumentParser
import Foundation
import HostKit
import Reconcile

/// NVIDIA vgpu-device-manager's command line (`nvidia-vgpu-dm`), answered by vgpuctl.
///
/// NVIDIA's `nvidia-k8s-vgpu-dm` (GPU Operator) runs `nvidia-vgpu-dm` from PATH:
/// `assert --valid-config -f FILE -c NAME`, `assert -f FILE -c NAME` and `-d apply -f FILE -c
/// NAME`. vgpuctl answers that command line when it is invoked under that name (a symlink) or as
/// `vgpuctl vgpu-dm`, reads the same file format, and keeps NVIDIA's exit statuses: 0 when the
/// command did what it says, 1 for every failure (NVIDIA's tool ends through `log.Fatal` on any
/// error, so a malformed file, an unknown config, a failed apply and a host that does not match
/// all exit 1). The reason is one line on stderr. Unlike NVIDIA's tool, `apply` creates SR-IOV
/// vGPUs (vendor VFIO `current_vgpu_type`, or the upstream control channel) as well as mdevs.
struct VGPUDMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nvidia-vgpu-dm",
        abstract: "NVIDIA vgpu-device-manager's command line, carried out by vgpuctl (also for SR-IOV vGPUs).",
        discussion: """
            Exit status as NVIDIA's tool: 0 success, 1 any failure (the reason on stderr).
            Environment as NVIDIA's tool: VGPU_DM_CONFIG_FILE, VGPU_DM_SELECTED_CONFIG,
            VGPU_DM_VALID_CONFIG, VGPU_DM_DEBUG; VGPUCTL_ROOT selects the host root.
            """,
        version: VGPUCtl.version,
        subcommands: [VGPUDMApply.self, VGPUDMAssert.self]
    )

    @Flag(name: [.customShort("d"), .long], help: "Debug output on stderr (each planned step).")
    var debug = false

    /// Runs the nvidia-vgpu-dm command line `arguments` (without the program name) and exits
    /// with NVIDIA's statuses: 0, or 1 for any failure.
    static func run(arguments: [String]) -> Never {
        // `-d` belongs to the root command; the subcommands read it from the environment, as
        // NVIDIA's tool also takes it (VGPU_DM_DEBUG).
        for a in arguments.prefix(while: { $0.hasPrefix("-") }) where a == "-d" || a == "--debug" {
            setenv("VGPU_DM_DEBUG", "true", 1)
        }
        let command: ParsableCommand
        do {
            command = try parseAsRoot(arguments)
        } catch {
            if exitCode(for: error) == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            dmError(message(for: error) + " (see 'nvidia-vgpu-dm --help')")
            Foundation.exit(1)
        }
        do {
            var c = command
            try c.run()
            Foundation.exit(0)
        } catch let e as any CodedError {
            dmError(e.message)
        } catch let e as ExitCode {
            Foundation.exit(e.rawValue == 0 ? 0 : 1)
        } catch {
            if exitCode(for: error) == .success {
                let text = fullMessage(for: error)
                if !text.isEmpty { print(text) }
                Foundation.exit(0)
            }
            dmError(message(for: error))
        }
        Foundation.exit(1)
    }

    /// Whether this process was started as `nvidia-vgpu-dm` (argv[0]'s last path component).
    static func invokedUnderOwnName(_ argv0: String) -> Bool {
        argv0.split(separator: "/").last.map(String.init) == "nvidia-vgpu-dm"
    }
}

/// `nvidia-vgpu-dm: error: <message>` on stderr, on one line.
func dmError(_ message: String) {
    let line = "nvidia-vgpu-dm: error: " + message.replacingOccurrences(of: "\n", with: " ") + "\n"
    FileHandle.standardError.write(Data(line.utf8))
}

/// `-f/--config-file` and `-c/--selected-config`, with NVIDIA's environment fallbacks.
struct VGPUDMConfigOptions: ParsableArguments {
    @Option(
        name: [.customShort("f"), .customLong("config-file")],
        help: ArgumentHelp("Config file ('-' reads stdin); or VGPU_DM_CONFIG_FILE.", valueName: "FILE"))
    var configFile: String?

    @Option(
        name: [.customShort("c"), .customLong("selected-config")],
        help: ArgumentHelp("The vgpu-config to use; or VGPU_DM_SELECTED_CONFIG.", valueName: "NAME"))
    var selectedConfig: String?

    /// The selected config, chosen as NVIDIA's tool does: `-c NAME`, or the only config of the
    /// file; a file with several configs and no `-c` is an error.
    func load(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> HostConfig {
        guard let path = configFile ?? environment["VGPU_DM_CONFIG_FILE"].flatMap({ $0.isEmpty ? nil : $0 }) else {
            throw CommandError.invalid(.badOption, "missing required flag 'config-file' (-f FILE)")
        }
        let all: [HostConfig]
        if path == "-" {
            let data = FileHandle.standardInput.readDataToEndOfFile()
            guard let text = String(data: data, encoding: .utf8) else {
                throw CommandError.invalid(.badFile, "<stdin>:1:1: not UTF-8 text")
            }
            all = try HostConfigParser.parse(text, file: "<stdin>")
        } else {
            all = try HostConfigParser.load(path: path)
        }
        let file = path == "-" ? "<stdin>" : path
        let name = selectedConfig ?? environment["VGPU_DM_SELECTED_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
        guard let name else {
            if all.count == 1 { return all[0] }
            throw CommandError.invalid(
                .badOption, "\(file) has \(all.count) configs: missing required flag 'selected-config' (-c NAME)")
        }
        guard let c = all.first(where: { $0.name == name }) else {
            throw CommandError.invalid(.notInConfig, "selected vgpu-config not present in \(file): \(name)")
        }
        return c
    }
}

/// Whether a boolean environment variable is set to a true value (urfave/cli's reading).
func environmentFlag(_ name: String) -> Bool {
    guard let v = ProcessInfo.processInfo.environment[name]?.lowercased() else { return false }
    return ["1", "t", "true"].contains(v)
}
