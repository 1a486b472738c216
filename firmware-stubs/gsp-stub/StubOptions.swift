import GSPMessaging

/// The stub's command line:
///
/// ```
/// gsp-stub --shared FILE --model GPU-MODEL [--pf BDF] [--report FILE]
///          [--fault SPEC]... [--sequencer-timeout SECONDS] [--firmware r570.144|r000_00]
/// ```
/// `--firmware` names the wire format played: r570.144 (mainline, the default) or r000_00 (the
/// development firmware's GMC API over MCTP/NVDM elements, ``StubGMCFirmware``).
/// `--fault` takes ``StubFault`` specs. The stub is started by `vgpuctl gsp boot`; running it by
/// hand against a file prepared by vgpuctl works too.
struct StubOptions {
    var sharedFile = ""
    var model = ""
    var pf = "0000:00:00.0"
    var reportFile: String?
    var faults: [StubFault] = []
    var sequencerTimeout: Duration = .seconds(30)
    var firmware = GSPWireFormat.r570_144

    static let usage =
        "usage: gsp-stub --shared FILE --model GPU-MODEL [--pf BDF] [--report FILE] [--fault SPEC]... [--sequencer-timeout SECONDS] [--firmware r570.144|r000_00]"

    static func parse(_ args: [String]) throws(StubUsageError) -> StubOptions {
        var o = StubOptions()
        var i = 0
        func value(_ name: String) throws(StubUsageError) -> String {
            i += 1
            guard i < args.count else { throw StubUsageError("\(name) needs a value") }
            return args[i]
        }
        while i < args.count {
            switch args[i] {
            case "--shared": o.sharedFile = try value("--shared")
            case "--model": o.model = try value("--model")
            case "--pf": o.pf = try value("--pf")
            case "--report": o.reportFile = try value("--report")
            case "--fault":
                let spec = try value("--fault")
                guard let f = StubFault.parse(spec) else {
                    throw StubUsageError("unknown fault '\(spec)'; known: \(StubFault.help)")
                }
                o.faults.append(f)
            case "--sequencer-timeout":
                let v = try value("--sequencer-timeout")
                guard let s = Double(v), s > 0 else {
                    throw StubUsageError("--sequencer-timeout needs seconds, got '\(v)'")
                }
                o.sequencerTimeout = .milliseconds(Int64(s * 1000))
            case "--firmware":
                let v = try value("--firmware")
                guard let f = GSPWireFormat(rawValue: v) else {
                    throw StubUsageError(
                        "--firmware takes \(GSPWireFormat.allCases.map(\.rawValue).joined(separator: " or ")), not '\(v)'"
                    )
                }
                o.firmware = f
            case "-h", "--help": throw StubUsageError(usage)
            default: throw StubUsageError("unknown argument '\(args[i])'")
            }
            i += 1
        }
        guard !o.sharedFile.isEmpty, !o.model.isEmpty else { throw StubUsageError(usage) }
        return o
    }
}

struct StubUsageError: Error {
    var message: String
    init(_ m: String) { message = m }
}

/// The stub's fault switches, to test how the driver side copes. Message numbers count the
/// elements the stub sends, from 1 (a boot through the SEC2 booter (Turing, Ampere, Ada) sends:
/// 1-2 UCODE_LIBOS_PRINT, 3 GSP_RUN_CPU_SEQUENCER, 4 GSP_INIT_DONE, 5 the GET_GSP_STATIC_INFO
/// reply; a boot through FSP (Hopper, Blackwell) has no sequencer request: 3 GSP_INIT_DONE, 4 the
/// reply).
enum StubFault: Equatable {
    /// `corrupt-checksum:N`: store a wrong checksum in message N.
    case corruptChecksum(Int)
    /// `skip-sequence:N`: give message N the seqNum after the expected one.
    case skipSequence(Int)
    /// `silent`: link the status queue, then never send anything.
    case silent
    /// `exit-after:N`: exit (status 3) right after sending message N, without a word.
    case exitAfter(Int)
    /// `rpc-error:FUNCTION[:STATUS]`: answer FUNCTION with this `rpc_result` (default
    /// NV_ERR_INVALID_STATE).
    case rpcError(RPCFunction, UInt32)

    static let help = "corrupt-checksum:N, skip-sequence:N, silent, exit-after:N, rpc-error:FUNCTION[:STATUS]"

    static func parse(_ spec: String) -> StubFault? {
        let parts = spec.split(separator: ":").map(String.init)
        guard let kind = parts.first else { return nil }
        let n = parts.count == 2 ? Int(parts[1]) : nil
        switch kind {
        case "corrupt-checksum": return n.flatMap { $0 > 0 ? .corruptChecksum($0) : nil }
        case "skip-sequence": return n.flatMap { $0 > 0 ? .skipSequence($0) : nil }
        case "silent": return parts.count == 1 ? .silent : nil
        case "exit-after": return n.flatMap { $0 >= 0 ? .exitAfter($0) : nil }
        case "rpc-error":
            guard parts.count >= 2, parts.count <= 3, let f = GSPFirmwareTable.current.function(named: parts[1]) else {
                return nil
            }
            let status = parts.count == 3 ? NVStatus.parse(parts[2]) : NVStatus.errInvalidState
            return status.map { .rpcError(f, $0) }
        default: return nil
        }
    }
}
