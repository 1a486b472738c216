import ArgumentParser
import DevicePlugin
import Fleet
import Foundation
import HostKit

/// `vgpuctl device-plugin`: the Kubernetes device plugin for KubeVirt.
struct DevicePluginCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "device-plugin",
        abstract: "Serve this host's GPUs, vGPUs and VFs to the kubelet (device-plugin API v1beta1) for KubeVirt.",
        discussion: """
            Resources: GPUs on VFIO as nvidia.com/<pci.ids name> (with their IOMMU-group companions), vGPUs \
            (mdev or vendor-VFIO VFs) as nvidia.com/NVIDIA_<TYPE>, plain VFs on vfio-pci by device. One socket per \
            resource in --plugin-dir, registered with the kubelet there. Lists follow kernel uevents and vgpuctl's \
            own changes (no polling). SIGTERM stops it and removes its sockets. --print-kubevirt-config prints the \
            KubeVirt CR snippet for the resources of this host and exits.
            """)

    @Option(name: .long, help: ArgumentHelp("The kubelet's device-plugin directory.", valueName: "DIR"))
    var pluginDir = "/var/lib/kubelet/device-plugins"

    @Flag(name: .long, help: "Print the KubeVirt CR snippet (permittedHostDevices) for this host's resources and exit.")
    var printKubevirtConfig = false

    @Flag(name: .long, help: "Log each list sent and each allocation on stderr.")
    var verbose = false

    @OptionGroup var host: HostOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let ctx = try HostContext(host)
        let box = ScannerBox(ctx.fleetScanner())
        if printKubevirtConfig {
            let snapshot = box.scan()
            if output.json { try printJSON(snapshot) } else { print(KubeVirtConfig.render(snapshot), terminator: "") }
            return
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: pluginDir, isDirectory: &isDir), isDir.boolValue else {
            throw CommandError.invalid(
                .badOption,
                "--plugin-dir \(pluginDir) is not a directory (the kubelet creates /var/lib/kubelet/device-plugins; in a pod, mount it)"
            )
        }
        let verbose = self.verbose
        let log: @Sendable (String) -> Void = { line in
            FileHandle.standardError.write(Data("vgpuctl device-plugin: \(line)\n".utf8))
        }
        let quiet: @Sendable (String) -> Void = { line in if !line.contains(": sent ") { log(line) } }
        let daemon = DevicePluginDaemon(
            root: ctx.root, pluginDir: pluginDir, uevents: ctx.env.uevents, scan: { box.scan() },
            log: verbose ? log : quiet)
        let (stop, stopper) = AsyncStream<Void>.makeStream()
        var sources: [any DispatchSourceSignal] = []
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler {
                log("signal \(sig): stopping")
                stopper.yield()
            }
            s.resume()
            sources.append(s)
        }
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        Task {
            do { try await daemon.run(stop: stop) } catch { outcome.set(error) }
            done.signal()
        }
        done.wait()
        withExtendedLifetime(sources) {}
        if let e = outcome.error { throw e }
    }
}

/// The scanner, shared by the plugin's tasks: scans run one at a time.
final class ScannerBox: @unchecked Sendable {
    let scanner: FleetScanner
    let lock = NSLock()
    init(_ s: FleetScanner) { scanner = s }
    func scan() -> FleetSnapshot { lock.withLock { scanner.scan() } }
}

/// The error the daemon ended with, handed back to the command's thread.
final class Outcome: @unchecked Sendable {
    let lock = NSLock()
    var stored: (any Error)?
    func set(_ e: any Error) { lock.withLock { stored = e } }
    var error: (any Error)? { lock.withLock { stored } }
}
