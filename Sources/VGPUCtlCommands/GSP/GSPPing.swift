import ArgumentParser
import Foundation
import GSPMessaging
import HostKit

extension GSP {
    /// `vgpuctl gsp ping PF`: round trips through a running stub.
    struct Ping: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ping",
            abstract:
                "Measure RPC round trips to a booted gsp-stub (GSP_RM_CONTROL NV0000_CTRL_CMD_NULL, parameters echoed)."
        )

        @Argument(help: ArgumentHelp("The GPU's physical function.", valueName: "PF"))
        var pf: String

        @OptionGroup var host: HostOptions
        @OptionGroup var output: OutputOptions

        @Option(name: .long, help: "Round trips to make.")
        var count = 1000

        @Option(
            name: .long,
            help: ArgumentHelp("Control parameter bytes per RPC (the payload adds 24).", valueName: "BYTES"))
        var size = 0

        func run() throws {
            let address = try PCIAddress.parse(pf, what: "PCI address of the GPU")
            guard count > 0, count <= 10_000_000 else {
                throw CommandError.invalid(.badOption, "--count must be 1...10000000, got \(count)")
            }
            guard size >= 0, size <= 16 << 20 else {
                throw CommandError.invalid(.badOption, "--size must be 0...16777216, got \(size)")
            }
            let env = try host.environment()
            let sim = env.gsp(address)
            let client = try sim.connect()
            client.recordsTranscript = false
            let info: GSPStaticInfo
            do {
                info = try GSPStaticInfo(
                    decoding: client.call(.getGspStaticInfo, [UInt8](repeating: 0, count: GSPStaticInfo.size)).payload)
            } catch let e as GSPError {
                throw e.moduleError(context: "asking GSP-RM for its static info")
            }
            var params = [UInt8](repeating: 0, count: size)
            for i in 0..<size { params[i] = UInt8(truncatingIfNeeded: i &* 31 &+ 7) }
            let request = RMControl(
                hClient: info.hInternalClient, hObject: info.hInternalClient, cmd: RMControlCommand.null, params: params
            ).encoded
            let clock = ContinuousClock()
            var elements = 0
            var each: [Duration] = []
            each.reserveCapacity(count)
            let start = clock.now
            var last = start
            do {
                for _ in 0..<count {
                    let m = try client.call(.gspRmControl, request)
                    let t = clock.now
                    each.append(last.duration(to: t))
                    last = t
                    elements = 1 + m.continuations.count
                    if m.payload.count != request.count {
                        throw GSPError.protocolViolation(
                            "reply of \(m.payload.count) bytes to a \(request.count)-byte control")
                    }
                }
            } catch let e as GSPError {
                throw e.moduleError(context: "ping \(address)")
            }
            let elapsed = start.duration(to: clock.now)
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            each.sort()
            func us(_ q: Double) -> Double {
                let d = each[min(each.count - 1, Int(Double(each.count) * q))]
                return Double(d.components.seconds) * 1e6 + Double(d.components.attoseconds) / 1e12
            }
            struct Out: Encodable {
                var pf: String
                var count: Int
                var payloadBytes: Int
                var elementsPerMessage: Int
                var seconds: Double
                var roundTripsPerSecond: Double
                var microsecondsPerRoundTrip: Double
                var p50Microseconds: Double
                var p99Microseconds: Double
                var maxMicroseconds: Double
            }
            let out = Out(
                pf: address.description, count: count, payloadBytes: request.count, elementsPerMessage: elements,
                seconds: seconds, roundTripsPerSecond: Double(count) / seconds,
                microsecondsPerRoundTrip: seconds * 1e6 / Double(count),
                p50Microseconds: us(0.5), p99Microseconds: us(0.99), maxMicroseconds: us(1))
            if output.json {
                try printJSON(out)
                return
            }
            print(
                String(
                    format:
                        "%d round trips of %d-byte GSP_RM_CONTROL (%d element(s) each way) in %.3f s: %.0f round trips/s, %.1f us each (p50 %.1f, p99 %.1f, max %.0f us)",
                    count, request.count, elements, seconds, out.roundTripsPerSecond, out.microsecondsPerRoundTrip,
                    out.p50Microseconds, out.p99Microseconds, out.maxMicroseconds))
        }
    }
}
