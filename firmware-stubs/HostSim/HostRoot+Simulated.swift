import Foundation
import HostKit

extension HostRoot {
    /// Whether the root holds the simulated-host marker (``HostRoot/simulationMarker``).
    ///
    /// Only the CLI edge asks this, when it builds the host environment; libraries get the
    /// kernel writer, waiters and sources that fit the host instead of asking.
    public var isSimulated: Bool {
        FileManager.default.fileExists(atPath: url(Self.simulationMarker))
    }
}
