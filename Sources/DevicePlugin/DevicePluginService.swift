import Fleet
import Foundation
import GRPCCore
import HostKit

/// The kubelet's `v1beta1.DevicePlugin` service for one resource.
struct DevicePluginService: V1beta1_DevicePlugin.SimpleServiceProtocol {
    let resource: String
    let state: PluginState
    /// A fresh scan (Allocate answers from the host as it is at that moment).
    let rescan: @Sendable () -> FleetSnapshot
    let log: @Sendable (String) -> Void

    func getDevicePluginOptions(request: V1beta1_Empty, context: ServerContext) async throws
        -> V1beta1_DevicePluginOptions
    {
        .with {
            $0.preStartRequired = false
            $0.getPreferredAllocationAvailable = true
        }
    }

    func listAndWatch(request: V1beta1_Empty, response: RPCWriter<V1beta1_ListAndWatchResponse>, context: ServerContext)
        async throws
    {
        let (id, stream) = state.subscribe(resource)
        defer { state.unsubscribe(id) }
        for await list in stream {
            try await response.write(Self.message(list))
            log("\(resource): sent \(list.count) devices (\(list.filter { !$0.healthy }.count) unhealthy)")
        }
    }

    static func message(_ list: [PluginState.Listed]) -> V1beta1_ListAndWatchResponse {
        .with { r in
            r.devices = list.map { d in
                .with {
                    $0.id = d.id
                    $0.health = d.healthy ? "Healthy" : "Unhealthy"
                    if let n = d.numaNode { $0.topology = .with { $0.nodes = [.with { $0.id = Int64(n) }] } }
                }
            }
        }
    }

    func getPreferredAllocation(request: V1beta1_PreferredAllocationRequest, context: ServerContext) async throws
        -> V1beta1_PreferredAllocationResponse
    {
        let snapshot = state.snapshot
        return .with { r in
            r.containerResponses = request.containerRequests.map { c in
                .with {
                    $0.deviceIds = Allocation.preferred(
                        snapshot, resource: resource, available: c.availableDeviceIds,
                        mustInclude: c.mustIncludeDeviceIds, size: Int(c.allocationSize))
                }
            }
        }
    }

    func allocate(request: V1beta1_AllocateRequest, context: ServerContext) async throws -> V1beta1_AllocateResponse {
        let snapshot = rescan()
        state.update(snapshot)
        var out: [V1beta1_ContainerAllocateResponse] = []
        for c in request.containerRequests {
            let a: Allocation
            do { a = try Allocation.make(snapshot, resource: resource, ids: c.devicesIds) } catch {
                log("\(resource): refused Allocate \(c.devicesIds): \(error.message)")
                throw RPCError(
                    code: error.status == .invalidInput ? .invalidArgument : .failedPrecondition, message: error.message
                )
            }
            log("\(resource): allocated \(c.devicesIds.joined(separator: ","))")
            out.append(
                .with { r in
                    r.envs = a.envs
                    r.devices = a.devices.map { n in
                        .with {
                            $0.containerPath = n.containerPath
                            $0.hostPath = n.hostPath
                            $0.permissions = n.permissions
                        }
                    }
                })
        }
        return .with { $0.containerResponses = out }
    }

    func preStartContainer(request: V1beta1_PreStartContainerRequest, context: ServerContext) async throws
        -> V1beta1_PreStartContainerResponse
    {
        V1beta1_PreStartContainerResponse()
    }
}
