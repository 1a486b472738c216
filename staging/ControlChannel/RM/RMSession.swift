import Foundation
import GSPMessaging

/// An RM object the session allocated.
public struct RMObject: Sendable, Equatable, CustomStringConvertible {
    public var handle: UInt32
    public var hClass: UInt32
    public var parent: UInt32

    public var description: String { "\(RMSession.className(hClass)) \(hex0x(handle))" }
}

/// RM object calls over the GSP queues (what nova-core's stage-2 RM layer does): a client of
/// its own, objects allocated under it with `GSP_RM_ALLOC`, controls with `GSP_RM_CONTROL`,
/// released with `FREE`. Each call's `rpc_result` and RM status are checked; a failure names
/// the call, the handles and the status. Payloads are stage 1's (`RMAlloc`, `RMControl`,
/// `RMFree`).
public final class RMSession {
    public let gsp: GSPClient
    public private(set) var handles: RMHandleAllocator
    public private(set) var client: RMObject?

    public init(gsp: GSPClient, slot: UInt32 = UInt32(truncatingIfNeeded: getpid())) {
        self.gsp = gsp
        handles = RMHandleAllocator(slot: slot)
    }

    /// Tries at most this many client slots when a handle is taken by another client.
    static let clientAttempts = 16

    /// Allocates the session's client (`NV01_ROOT_CLIENT` with `NV0000_ALLOC_PARAMETERS`).
    /// A handle another client holds (`NV_ERR_INSERT_DUPLICATE_NAME`) moves to the next slot.
    @discardableResult
    public func openClient(processName: String = "vgpuctl") throws(ControlChannelError) -> RMObject {
        if let client { return client }
        for _ in 0..<Self.clientAttempts {
            let h = handles.client
            var params = [UInt8](repeating: 0, count: 108)
            params.put32(0, h)
            params.put32(4, UInt32(truncatingIfNeeded: getpid()))
            params.putBytes(8, Array(processName.utf8), limit: 99)
            let status = try allocCall(
                RMAlloc(hClient: h, hParent: 0, hObject: h, hClass: RMClass.rootClient, params: params))
            if status == NVStatusText.errInsertDuplicateName {
                handles = RMHandleAllocator(slot: handles.nextSlot)
                continue
            }
            guard status == NVStatus.ok else {
                throw .rm(call: "GSP_RM_ALLOC of client \(hex0x(h)) (NV01_ROOT_CLIENT)", status: status)
            }
            let c = RMObject(handle: h, hClass: RMClass.rootClient, parent: h)
            client = c
            return c
        }
        throw .rm(
            call: "GSP_RM_ALLOC of a client (\(Self.clientAttempts) handles tried)",
            status: NVStatusText.errInsertDuplicateName)
    }

    /// Allocates an object of `hClass` under `parent` with the class's allocation parameters.
    public func alloc(_ hClass: UInt32, under parent: RMObject, params: [UInt8] = []) throws(ControlChannelError)
        -> RMObject
    {
        let c = try openClient()
        guard let h = handles.take() else {
            throw .invalidRequest("the RM client \(hex0x(c.handle)) has no free object handle left (255 in use)")
        }
        let status: UInt32
        do {
            status = try allocCall(
                RMAlloc(hClient: c.handle, hParent: parent.handle, hObject: h, hClass: hClass, params: params))
        } catch {
            handles.release(h)
            throw error
        }
        guard status == NVStatus.ok else {
            handles.release(h)
            throw .rm(call: "GSP_RM_ALLOC of \(Self.className(hClass)) \(hex0x(h)) under \(parent)", status: status)
        }
        return RMObject(handle: h, hClass: hClass, parent: parent.handle)
    }

    /// `NV01_DEVICE_0` under the client, then `NV20_SUBDEVICE_0` under it (device and
    /// subdevice 0: one GSP-RM per GPU).
    public func subdevice() throws(ControlChannelError) -> RMObject {
        let c = try openClient()
        let device = try alloc(RMClass.device, under: c, params: [UInt8](repeating: 0, count: 56))
        return try alloc(RMClass.subdevice, under: device, params: [UInt8](repeating: 0, count: 4))
    }

    /// Runs control `cmd` on `object`; returns the parameters as GSP-RM left them.
    public func control(_ object: RMObject, _ cmd: UInt32, params: [UInt8]) throws(ControlChannelError) -> [UInt8] {
        let c = try openClient()
        let reply = try call(
            .gspRmControl, RMControl(hClient: c.handle, hObject: object.handle, cmd: cmd, params: params).encoded)
        let r: RMControl
        do { r = try RMControl(decoding: reply) } catch { throw .queue(.badPayload(.gspRmControl, error)) }
        guard r.status == NVStatus.ok else {
            throw .rm(call: "GSP_RM_CONTROL \(hex0x(cmd)) on \(object)", status: r.status)
        }
        guard r.params.count == params.count else {
            throw .queue(
                .protocolViolation(
                    "GSP_RM_CONTROL \(hex0x(cmd)) came back with \(r.params.count) parameter bytes, sent \(params.count)"
                ))
        }
        return r.params
    }

    /// Frees `object` and everything under it; its handle is released.
    public func free(_ object: RMObject) throws(ControlChannelError) {
        let c = try openClient()
        let reply = try call(
            .free, RMFree(hRoot: c.handle, hObjectParent: object.parent, hObjectOld: object.handle).encoded)
        let r: RMFree
        do { r = try RMFree(decoding: reply) } catch { throw .queue(.badPayload(.free, error)) }
        guard r.status == NVStatus.ok else { throw .rm(call: "FREE of \(object)", status: r.status) }
        if object.handle == c.handle {
            client = nil
            handles.releaseAll()
        } else {
            handles.release(object.handle)
        }
    }

    /// Frees the client (and so every object), ignoring failures: the firmware may be gone.
    public func close() {
        if let c = client { try? free(c) }
        client = nil
        handles.releaseAll()
    }

    /// Sends `payload`; the reply payload, or the queue failure / error `rpc_result`.
    private func call(_ f: RPCFunction, _ payload: [UInt8]) throws(ControlChannelError) -> [UInt8] {
        do { return try gsp.call(f, payload).payload } catch { throw .queue(error) }
    }

    /// A `GSP_RM_ALLOC` round trip; the RM status it answered.
    private func allocCall(_ a: RMAlloc) throws(ControlChannelError) -> UInt32 {
        let reply = try call(.gspRmAlloc, a.encoded)
        do { return try RMAlloc(decoding: reply).status } catch { throw .queue(.badPayload(.gspRmAlloc, error)) }
    }

    /// `NV20_SUBDEVICE_0`, or the number.
    static func className(_ c: UInt32) -> String {
        switch c {
        case RMClass.root: "NV01_ROOT"
        case RMClass.rootClient: "NV01_ROOT_CLIENT"
        case RMClass.device: "NV01_DEVICE_0"
        case RMClass.subdevice: "NV20_SUBDEVICE_0"
        default: "class \(hex0x(c))"
        }
    }
}
