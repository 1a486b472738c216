import ArgumentParser
import ControlChannel
import HostKit

/// `vgpuctl control`: stage 2 of the vGPU plan, the fwctl control channel to a GPU's firmware.
struct Control: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "control",
        abstract: "Talk to a GPU's firmware over the fwctl control channel (nova-core's vGPU management commands).",
        discussion: """
            On a real host this is FWCTL_RPC on /dev/fwctl/fwctlN, which needs the kernel's fwctl subsystem \
            (Linux 6.15+) and nova-core's fwctl driver (not upstream yet). On a simulated host created with \
            '--vgpu-interface upstream' the same requests go over the GSP queues to gsp-stub: the stub started \
            with 'vgpuctl gsp boot PF' when it runs, else one started for the command. The command numbers \
            and layouts are provisional (ROADMAP.md, stage 2).
            """,
        subcommands: [Info.self, Types.self])
}

/// `--debug-scope`: an fwctl debug scope instead of configuration, with the kernel's warning.
struct ScopeOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Send the RPCs in a fwctl debug scope (debug-read-only, debug-write, debug-write-full) instead of the configuration scope. The write scopes taint the kernel.",
            valueName: "SCOPE"))
    var debugScope: FwctlScope?

    /// The scope to use; warns on stderr about a debug scope.
    func scope() -> FwctlScope {
        guard let s = debugScope else { return .configuration }
        var text = "using the fwctl \(s.optionName) scope (\(s.kernelName))"
        if s.taintsKernel { text += ": the kernel taints itself (TAINT_FWCTL) on the first RPC in this scope" }
        if s.needsRawIO { text += "; it needs CAP_SYS_RAWIO" }
        text += "; nova-core permits the vGPU management commands only in the configuration scope"
        printWarning(text)
        return s
    }
}

extension FwctlScope: ExpressibleByArgument {
    /// The debug scopes by their option names (the configuration scope is the default, not an option).
    public init?(argument: String) {
        guard let s = FwctlScope.allCases.first(where: { $0.optionName == argument }), s != .configuration else {
            return nil
        }
        self = s
    }

    public static var allValueStrings: [String] { allCases.filter { $0 != .configuration }.map(\.optionName) }
}

extension Control {
    /// The PCI function named on the command line, which must exist (exit 2 otherwise).
    static func device(_ text: String, root: HostRoot, what: String) throws(CommandError) -> PCIDevice {
        let a = try CommandError.wrapping(.badOption) { try address(text, what: what) }
        guard let d = SysfsReader(root: root).device(a) else {
            throw .invalid(
                .noDevice,
                "no PCI device \(a) under \(root.url(HostRoot.pciDevices)); run 'vgpuctl list --all' to see the addresses"
            )
        }
        return d
    }
}
