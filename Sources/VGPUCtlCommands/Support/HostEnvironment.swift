import Foundation
import GPUModels
import GSPMessaging
import HostKit
import HostSim
import NVGraceEGM
import VGPUTypes

/// The one place that decides what differs between a real host and a simulated one, and what
/// tests switch: built here, at the CLI edge, from `--root` and the process environment.
/// Libraries receive its parts (the kernel writer, the VF waiter, the EGM source, the
/// control-channel transport, the firmware-stub launcher, the test switches) and never ask
/// whether the host is simulated nor read environment variables.
struct HostEnvironment {
    let root: HostRoot
    /// Whether `root` holds the simulated-host marker (asked once, here).
    let simulated: Bool
    /// The process environment this was built from.
    let variables: [String: String]

    init(root: HostRoot, variables: [String: String] = ProcessInfo.processInfo.environment) {
        self.root = root
        self.simulated = root.isSimulated
        self.variables = variables
    }

    // MARK: Test switches (each ends the process where a crash would, to test recovery)

    /// `VGPUCTL_TEST_CRASH_AFTER_STEP=N`: an apply exits (status 86) after step N, before the
    /// journal records it (``Reconciler/crashAfterStep``).
    var crashAfterStep: Int? { variables["VGPUCTL_TEST_CRASH_AFTER_STEP"].flatMap(Int.init) }
    /// `VGPUCTL_TEST_CRASH_BEFORE_SCRUB`: `vf clear` exits (status 86) after the vGPU is
    /// removed and before its frame buffer is scrubbed.
    var crashBeforeScrub: Bool { variables["VGPUCTL_TEST_CRASH_BEFORE_SCRUB"] != nil }
    /// `VGPUCTL_TEST_SIM_KILL_AT_EFFECT=N`: SIGKILL before the Nth change a simulated kernel
    /// write makes (inside the write).
    var simKillAtEffect: Int? { variables["VGPUCTL_TEST_SIM_KILL_AT_EFFECT"].flatMap(Int.init) }

    // MARK: Settings

    /// `VGPUCTL_WRITE_LOG=FILE`: every kernel write is logged there (the benchmarks count them).
    var writeLog: String? { variables["VGPUCTL_WRITE_LOG"].flatMap { $0.isEmpty ? nil : $0 } }
    /// `VGPUCTL_GSP_SPIN`: doorbell checks to spin before sleeping on the GSP queues.
    var gspSpin: Int { variables["VGPUCTL_GSP_SPIN"].flatMap { Int($0) } ?? 0 }
    /// The GPU models and built-in vGPU profiles: `VGPUCTL_MODELS`, else the bundled copy.
    var models: URL { Self.models(variables) }

    /// The models directory `variables` name (for commands without a host, such as `sim create`).
    static func models(_ variables: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        Models.directory(override: variables["VGPUCTL_MODELS"])
    }
    /// The built-in vGPU profile catalogs (`vgpu/*.yaml`): the `vgpu` folder of the
    /// `VGPUCTL_MODELS` copy when it has one, else VGPUTypes' bundled copy. (The catalogs left
    /// the models folder for `Sources/VGPUTypes`: a models copy without them, such as the
    /// benchmarks', still gets the bundled catalogs, not none.)
    var vgpuCatalogs: URL {
        guard let dir = variables["VGPUCTL_MODELS"], !dir.isEmpty else { return VGPUCatalogSet.builtInDirectory }
        let copy = URL(fileURLWithPath: dir).appendingPathComponent("vgpu")
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: copy.path, isDirectory: &isDirectory), isDirectory.boolValue
        else { return VGPUCatalogSet.builtInDirectory }
        return copy
    }
    /// Where programs (QEMU, virsh) are looked up.
    var searchPath: String? { variables["PATH"] }

    // MARK: The seams

    /// The kernel writer: the simulated kernel on a simulated host, sysfs otherwise (logged
    /// with `VGPUCTL_WRITE_LOG`).
    func makeKernel() -> any Kernel {
        let base: any Kernel =
            simulated
            ? SimulatedKernel(root: root, effectHook: simKillAtEffect.map(SimEffectHook.init(killAt:)))
            : SysfsKernel(root: root)
        if let log = writeLog { return LoggingKernel(forwardingTo: base, logPath: log) }
        return base
    }

    /// How VF creation is awaited: uevents on a real host, a sysfs check on a simulated one.
    func vfWaiterFactory(progress: any ProgressReporter) -> @Sendable () throws(VGPUError) -> any VFWaiter {
        if simulated { return { ProgressVFWaiter(SysfsVFWaiter(), progress: progress) } }
        #if os(Linux)
            return { () throws(VGPUError) -> any VFWaiter in ProgressVFWaiter(try UeventVFWaiter(), progress: progress)
            }
        #else
            return { ProgressVFWaiter(SysfsVFWaiter(), progress: progress) }
        #endif
    }

    /// Whether kernel uevents are the wake-up for waits (a real host).
    var uevents: Bool { !simulated }

    /// Where the retired pages of EGM regions come from on this host.
    var egmSource: any EGMRetiredPagesSource { simulated ? SimulatedEGM(root: root) : EGMDevice(root: root) }

    /// The firmware-stub launcher: the `gsp-stub` binary and the environment it starts with.
    func stubLauncher() throws(GSPMessagingError) -> StubLauncher { try StubLauncher.locate(environment: variables) }

    /// The GSP queues of `pf`'s stub, spinning as `VGPUCTL_GSP_SPIN` says (under `base`, the
    /// host root unless given).
    func gsp(_ pf: PCIAddress, base: HostRoot? = nil) -> SimulatedGSP {
        var g = SimulatedGSP(root: base ?? root, pf: pf)
        g.spin = gspSpin
        return g
    }
}
