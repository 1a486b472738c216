import HostKit

/// DevicePlugin's error codes (``DevicePluginError``).
public enum DevicePluginCode: String, ErrorCode {
    public static var module: String { "deviceplugin" }
    /// The kubelet's device-plugin directory does not exist.
    case pluginDirectory
    /// The host watcher failed; the plugin stops so its lists cannot go stale.
    case watcher
    /// The plugin's gRPC socket cannot listen.
    case listen
}

/// DevicePlugin's error: a ``DevicePluginCode``, the operator's sentence, the exit status, and
/// the failure underneath (Fleet's or HostKit's error) as a value.
public typealias DevicePluginError = ModuleError<DevicePluginCode>
