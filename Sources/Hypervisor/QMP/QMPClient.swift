import Foundation
import HostKit

/// An error QEMU answered a command with (`{"error": {"class": ..., "desc": ...}}`).
public struct QMPError: Error, Sendable, Equatable, CustomStringConvertible {
    public var command: String
    public var errorClass: String
    public var desc: String
    public var description: String { "\(errorClass): \(desc)" }

    public init(command: String, errorClass: String, desc: String) {
        self.command = command
        self.errorClass = errorClass
        self.desc = desc
    }

    /// The error as vgpuctl reports it (exit 1), with QEMU's class and description.
    public var vgpuError: HypervisorError { .failed(.qmpRefused, "QEMU refused \(command): \(errorClass): \(desc)") }
}

/// A QMP client (docs/interop/qmp-spec.rst): reads the greeting, negotiates capabilities,
/// runs commands matched to their replies by `id`, and keeps the events that arrive meanwhile.
public final class QMPClient {
    public let transport: any QMPTransport
    /// The server's greeting (`{"QMP": {"version": ..., "capabilities": [...]}}`).
    public private(set) var greeting: JSONValue = .null
    /// Events received and not yet consumed, oldest first.
    public private(set) var events: [JSONValue] = []
    public var greetingTimeout: Duration
    public var replyTimeout: Duration
    private var nextID = 1

    public init(
        transport: any QMPTransport, greetingTimeout: Duration = .seconds(5), replyTimeout: Duration = .seconds(60)
    ) {
        self.transport = transport
        self.greetingTimeout = greetingTimeout
        self.replyTimeout = replyTimeout
    }

    /// Reads the greeting and enters command mode (`qmp_capabilities`). Exit 2 when the peer
    /// does not speak QMP.
    public func connect() throws(HypervisorError) {
        let peer = transport.peer
        switch try transport.receive(until: .now + greetingTimeout) {
        case .timedOut:
            throw .invalid(
                .qmpProtocol,
                "\(peer) sent no QMP greeting within \(Self.seconds(greetingTimeout)): it is not a QMP socket, or another client holds the VM's only QMP connection"
            )
        case .closed:
            throw .invalid(
                .qmpProtocol,
                "\(peer) closed the connection without a QMP greeting: it is not a QMP socket (or QEMU is exiting)")
        case .line(let line):
            guard let g = JSONValue.parse(line), g["QMP"] != nil else {
                let shown = line.trimmingCharacters(in: .whitespacesAndNewlines).prefix(80)
                if line.hasPrefix("QEMU") && line.contains("monitor") {
                    throw .invalid(
                        .qmpProtocol,
                        "\(peer) is QEMU's human monitor (HMP), not QMP: start QEMU with -qmp unix:\(peer),server=on,wait=off"
                    )
                }
                throw .invalid(
                    .qmpProtocol, "\(peer) does not speak QMP: its first line was '\(shown)', not a QMP greeting")
            }
            greeting = g
        }
        switch try execute("qmp_capabilities") {
        case .success: return
        case .failure(let e): throw e.vgpuError
        }
    }

    /// The QEMU version in the greeting.
    public var qemuVersion: QEMUVersion? {
        guard let q = greeting["QMP"]?["version"]?["qemu"],
            let ma = q["major"]?.intValue, let mi = q["minor"]?.intValue
        else { return nil }
        return QEMUVersion(Int(ma), Int(mi), q["micro"]?.intValue.map(Int.init))
    }

    /// Runs `command`; QEMU's error reply is the failure value, transport trouble is thrown.
    public func execute(_ command: String, _ arguments: [String: JSONValue]? = nil) throws(HypervisorError) -> Result<
        JSONValue, QMPError
    > {
        let id = "vgpuctl-\(nextID)"
        nextID += 1
        var msg: [String: JSONValue] = ["execute": .string(command), "id": .string(id)]
        if let arguments { msg["arguments"] = .object(arguments) }
        try transport.send(JSONValue.object(msg).jsonText)
        let deadline = ContinuousClock.now + replyTimeout
        while true {
            switch try transport.receive(until: deadline) {
            case .timedOut:
                throw .failed(
                    .qmpProtocol,
                    "QEMU did not answer \(command) on \(transport.peer) within \(Self.seconds(replyTimeout))")
            case .closed:
                throw .failed(
                    .qmpProtocol,
                    "QEMU closed the QMP connection on \(transport.peer) while running \(command); did the VM exit?")
            case .line(let line):
                guard let v = JSONValue.parse(line) else {
                    throw .failed(
                        .qmpProtocol,
                        "\(transport.peer) sent a line that is not JSON while running \(command): '\(line.prefix(80))'")
                }
                if v["event"] != nil {
                    events.append(v)
                    continue
                }
                if let rid = v["id"], rid != .string(id) { continue }  // a reply to someone else
                if let r = v["return"] { return .success(r) }
                if let e = v["error"] {
                    return .failure(
                        QMPError(
                            command: command, errorClass: e["class"]?.stringValue ?? "GenericError",
                            desc: e["desc"]?.stringValue ?? e.jsonText))
                }
            }
        }
    }

    /// Runs `command` and returns its result, throwing QEMU's error (exit 1) as well.
    public func run(_ command: String, _ arguments: [String: JSONValue]? = nil) throws(HypervisorError) -> JSONValue {
        switch try execute(command, arguments) {
        case .success(let v): return v
        case .failure(let e): throw e.vgpuError
        }
    }

    /// Waits until `timeout` for an event that `matches` (queued ones first); removes and
    /// returns it, or nil on timeout.
    public func waitForEvent(timeout: Duration, matching matches: (JSONValue) -> Bool) throws(HypervisorError)
        -> JSONValue?
    {
        if let k = events.firstIndex(where: matches) { return events.remove(at: k) }
        let deadline = ContinuousClock.now + timeout
        while true {
            switch try transport.receive(until: deadline) {
            case .timedOut: return nil
            case .closed:
                throw .failed(
                    .qmpProtocol,
                    "QEMU closed the QMP connection on \(transport.peer) while vgpuctl waited for an event; did the VM exit?"
                )
            case .line(let line):
                guard let v = JSONValue.parse(line), v["event"] != nil else { continue }
                if matches(v) { return v }
                events.append(v)
            }
        }
    }

    static func seconds(_ d: Duration) -> String {
        let s = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        return s == s.rounded() ? "\(Int(s)) s" : String(format: "%.1f s", s)
    }
}
