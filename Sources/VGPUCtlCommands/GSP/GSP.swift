import ArgumentParser

/// `vgpuctl gsp`: stage 1 of the vGPU plan, GSP-RM boot messaging (simulated hosts only for
/// booting; `decode` works on any dump).
struct GSP: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gsp",
        abstract: "Boot GSP-RM with vGPU enabled against the firmware stub, and decode GSP message queues.",
        discussion: """
            On a simulated host, 'boot' starts gsp-stub (a separate process playing GSP-RM r570.144 for the \
            GPU model) and runs the vGPU-enabled boot over shared-memory queues laid out as GSP's GspMem. \
            On a real host booting GSP is the kernel driver's job; vgpuctl only reports what it finds.
            """,
        subcommands: [Boot.self, Stop.self, Status.self, Decode.self, Ping.self])
}
