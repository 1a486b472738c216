import Foundation
import HostKit

/// How vgpuctl starts `gsp-stub`: the binary and the environment the stub gets. Built at the
/// CLI edge from its process environment (this module reads none).
public struct StubLauncher: Sendable {
    /// The stub binary.
    public var executable: String
    /// The environment the stub starts with (the caller's, so that its switches reach the stub).
    public var environment: [String: String]

    public init(executable: String, environment: [String: String]) {
        self.executable = executable
        self.environment = environment
    }

    /// The stub binary: `VGPUCTL_GSP_STUB` in `environment` when set, else `gsp-stub` next to
    /// this process's executable (`/proc/self/exe`), where SwiftPM builds it beside `vgpuctl`.
    public static func locate(environment: [String: String]) throws(GSPMessagingError) -> StubLauncher {
        if let e = environment["VGPUCTL_GSP_STUB"], !e.isEmpty {
            guard FileManager.default.isExecutableFile(atPath: e) else {
                throw .failed(.stubLaunch, "VGPUCTL_GSP_STUB names \(e), which is not an executable file")
            }
            return StubLauncher(executable: e, environment: environment)
        }
        let exe =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let candidate = (exe as NSString).deletingLastPathComponent + "/gsp-stub"
        guard FileManager.default.isExecutableFile(atPath: candidate) else {
            throw .failed(
                .stubLaunch,
                "cannot find the firmware stub: \(candidate) does not exist; build it ('swift build --product gsp-stub') or set VGPUCTL_GSP_STUB"
            )
        }
        return StubLauncher(executable: candidate, environment: environment)
    }

    /// Starts the stub detached with `arguments` (``StubProcess/spawn(_:_:environment:logPath:)``).
    public func spawn(_ arguments: [String], logPath: String) throws(GSPMessagingError) -> Int32 {
        try StubProcess.spawn(executable, arguments, environment: environment, logPath: logPath)
    }
}
