import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix

/// Registers a resource with the kubelet (`v1beta1.Registration/Register` on
/// `<plugin-dir>/kubelet.sock`).
enum Registration {
    static let version = "v1beta1"

    static func register(kubeletSocket: String, endpoint: String, resource: String) async throws {
        try await withGRPCClient(
            transport: try .http2NIOPosix(target: .unixDomainSocket(path: kubeletSocket), transportSecurity: .plaintext)
        ) { client in
            let registration = V1beta1_Registration.Client(wrapping: client)
            var options = CallOptions.defaults
            options.timeout = .seconds(5)
            _ = try await registration.register(
                .with {
                    $0.version = version
                    $0.endpoint = endpoint
                    $0.resourceName = resource
                    $0.options = .with {
                        $0.preStartRequired = false
                        $0.getPreferredAllocationAvailable = true
                    }
                }, options: options)
        }
    }

    /// Registers, retrying while no kubelet answers (backoff from 0.2 s to 5 s) until it
    /// succeeds or the task is cancelled. A kubelet that answers with a refusal (a status other
    /// than UNAVAILABLE or DEADLINE_EXCEEDED: it listened and said no) is not asked again: the
    /// refusal is logged, and the daemon registers again when the kubelet restarts (a new
    /// `kubelet.sock`), as it does after any kubelet restart.
    static func registerRetrying(
        kubeletSocket: String, endpoint: String, resource: String, log: @Sendable (String) -> Void
    ) async {
        var delay = 0.2
        var said = false
        while !Task.isCancelled {
            do {
                try await register(kubeletSocket: kubeletSocket, endpoint: endpoint, resource: resource)
                log("\(resource): registered with the kubelet at \(kubeletSocket) (endpoint \(endpoint))")
                return
            } catch let e as RPCError where e.code != .unavailable && e.code != .deadlineExceeded {
                log(
                    "\(resource): the kubelet at \(kubeletSocket) refused the registration (\(e.code): \(e.message)); not asking again until the kubelet restarts"
                )
                return
            } catch {
                if !said { log("\(resource): no kubelet at \(kubeletSocket) yet (\(error)); retrying") }
                said = true
                try? await Task.sleep(for: .seconds(delay))
                delay = min(delay * 2, 5)
            }
        }
    }
}
