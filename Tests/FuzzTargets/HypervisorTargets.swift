import HostKit
import Hypervisor

extension FuzzTargets {
    /// A QMP peer that says whatever the fuzzer gives it, one line per input line.
    final class FuzzQMPPeer: QMPTransport {
        var lines: [String]
        let peer = "fuzz"
        init(_ lines: [String]) { self.lines = lines }
        func send(_ line: String) throws(HypervisorError) {}
        func receive(until deadline: ContinuousClock.Instant) throws(HypervisorError) -> QMPReceived {
            lines.isEmpty ? .closed : .line(lines.removeFirst())
        }
        func close() {}
    }

    /// QMP messages from a VM's QEMU (greeting, replies, events, errors): the client must
    /// answer every byte stream with a result or a clear error, never a trap or a hang.
    static func qmp(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        _ = JSONValue.parse(text)
        let client = QMPClient(
            transport: FuzzQMPPeer(text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)),
            greetingTimeout: .milliseconds(1), replyTimeout: .milliseconds(1))
        do {
            try client.connect()
            _ = try client.execute("query-pci")
            _ = try client.waitForEvent(timeout: .milliseconds(1)) { _ in true }
        } catch {
            precondition(!error.message.isEmpty)
        }
    }

    /// Domain XML on the libvirt hook's stdin.
    static func domainXML(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        _ = try? XMLTree.parse(text)
        do { _ = try DomainXML.parse(text) } catch {
            precondition(
                error.status == .invalidInput, "domain XML error with status \(error.status): \(error.message)")
        }
    }
}
