import ArgumentParser
import Foundation
import HostKit
import Hypervisor
import Passthrough

/// `--socket PATH` and the connection it names.
struct QMPSocketOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The VM's QMP socket.", valueName: "PATH")) var socket: String

    func connect() throws(HypervisorError) -> QMPClient {
        let client = QMPClient(transport: try UnixSocketTransport(path: socket))
        try client.connect()
        return client
    }
}
