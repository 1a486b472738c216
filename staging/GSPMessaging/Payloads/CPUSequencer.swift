/// One command of a `GSP_RUN_CPU_SEQUENCER` buffer (`GSP_SEQ_BUF_OPCODE` and its payload).
/// In the buffer each command is its opcode followed by only its own payload words.
public enum SequencerCommand: Equatable, Sendable, Codable, CustomStringConvertible {
    case regWrite(addr: UInt32, value: UInt32)
    case regModify(addr: UInt32, mask: UInt32, value: UInt32)
    case regPoll(addr: UInt32, mask: UInt32, value: UInt32, timeoutUs: UInt32, error: UInt32)
    case delayUs(UInt32)
    case regStore(addr: UInt32, index: UInt32)
    case coreReset
    case coreStart
    case coreWaitForHalt
    case coreResume

    /// `GSP_SEQ_BUF_OPCODE_*`.
    public var opcode: UInt32 {
        switch self {
        case .regWrite: 0
        case .regModify: 1
        case .regPoll: 2
        case .delayUs: 3
        case .regStore: 4
        case .coreReset: 5
        case .coreStart: 6
        case .coreWaitForHalt: 7
        case .coreResume: 8
        }
    }

    /// Payload words per opcode (`GSP_SEQUENCER_PAYLOAD_SIZE_DWORDS`), nil for unknown opcodes.
    public static func payloadWords(opcode: UInt32) -> Int? {
        switch opcode {
        case 0: 2
        case 1: 3
        case 2: 5
        case 3: 1
        case 4: 2
        case 5...8: 0
        default: nil
        }
    }

    /// The opcode and payload words.
    public var words: [UInt32] {
        switch self {
        case .regWrite(let a, let v): [0, a, v]
        case .regModify(let a, let m, let v): [1, a, m, v]
        case .regPoll(let a, let m, let v, let t, let e): [2, a, m, v, t, e]
        case .delayUs(let us): [3, us]
        case .regStore(let a, let i): [4, a, i]
        case .coreReset: [5]
        case .coreStart: [6]
        case .coreWaitForHalt: [7]
        case .coreResume: [8]
        }
    }

    public var description: String {
        switch self {
        case .regWrite(let a, let v): "REG_WRITE \(hex0x(a)) = \(hex0x(v))"
        case .regModify(let a, let m, let v): "REG_MODIFY \(hex0x(a)) mask \(hex0x(m)) = \(hex0x(v))"
        case .regPoll(let a, let m, let v, let t, _):
            "REG_POLL \(hex0x(a)) mask \(hex0x(m)) == \(hex0x(v)) within \(t) us"
        case .delayUs(let us): "DELAY_US \(us)"
        case .regStore(let a, let i): "REG_STORE \(hex0x(a)) -> save[\(i)]"
        case .coreReset: "CORE_RESET"
        case .coreStart: "CORE_START"
        case .coreWaitForHalt: "CORE_WAIT_FOR_HALT"
        case .coreResume: "CORE_RESUME"
        }
    }
}

/// The payload of the `GSP_RUN_CPU_SEQUENCER` event (`rpc_run_cpu_sequencer_v17_00`):
///
/// ```
/// 0x00  u32 bufferSizeDWord   size of the command buffer, in words
/// 0x04  u32 cmdIndex          words of it in use (nouveau walks `ptr < cmdIndex`)
/// 0x08  u32 regSaveArea[8]    where REG_STORE saves values
/// 0x28  u32 commandBuffer[]
/// ```
/// nova-core names `cmdIndex` a command count and stops at the end of the data; it is a word
/// count (nouveau's loop, and real sequences whose `cmdIndex` equals their word total).
public struct RunCPUSequencer: Equatable, Sendable, Codable {
    public static let headerSize = 40
    public var bufferSizeDWord: UInt32
    public var regSaveArea: [UInt32]
    public var commands: [SequencerCommand]

    public init(commands: [SequencerCommand], regSaveArea: [UInt32] = Array(repeating: 0, count: 8)) {
        self.commands = commands
        self.regSaveArea = regSaveArea
        bufferSizeDWord = UInt32(commands.reduce(0) { $0 + $1.words.count })
    }

    /// Words in use: `cmdIndex`.
    public var cmdIndex: UInt32 { UInt32(commands.reduce(0) { $0 + $1.words.count }) }

    public var encoded: [UInt8] {
        let words = commands.flatMap(\.words)
        var b = [UInt8](repeating: 0, count: Self.headerSize + 4 * Int(max(bufferSizeDWord, UInt32(words.count))))
        b.put32(0, max(bufferSizeDWord, UInt32(words.count)))
        b.put32(4, UInt32(words.count))
        for i in 0..<8 { b.put32(8 + 4 * i, i < regSaveArea.count ? regSaveArea[i] : 0) }
        for (i, w) in words.enumerated() { b.put32(Self.headerSize + 4 * i, w) }
        return b
    }

    /// Decodes and checks the buffer; the error names the word that is wrong.
    public init(decoding b: [UInt8]) throws(VGPUPayloadError) {
        guard b.count >= Self.headerSize else {
            throw VGPUPayloadError(offset: 0, "sequencer payload is \(b.count) bytes, shorter than its 40-byte header")
        }
        bufferSizeDWord = b.le32(0)
        let used = Int(b.le32(4))
        regSaveArea = (0..<8).map { b.le32(8 + 4 * $0) }
        let available = (b.count - Self.headerSize) / 4
        guard used <= Int(bufferSizeDWord), used <= available else {
            throw VGPUPayloadError(
                offset: 4,
                "sequencer cmdIndex \(used) exceeds the buffer (bufferSizeDWord \(bufferSizeDWord), \(available) words present)"
            )
        }
        func word(_ i: Int) -> UInt32 { b.le32(Self.headerSize + 4 * i) }
        var out: [SequencerCommand] = []
        var p = 0
        while p < used {
            let op = word(p)
            guard let n = SequencerCommand.payloadWords(opcode: op) else {
                throw VGPUPayloadError(offset: Self.headerSize + 4 * p, "unknown sequencer opcode \(op) at word \(p)")
            }
            guard p + 1 + n <= used else {
                throw VGPUPayloadError(
                    offset: Self.headerSize + 4 * p,
                    "sequencer opcode \(op) at word \(p) needs \(n) payload words; the buffer ends first")
            }
            let a = (0..<n).map { word(p + 1 + $0) }
            switch op {
            case 0: out.append(.regWrite(addr: a[0], value: a[1]))
            case 1: out.append(.regModify(addr: a[0], mask: a[1], value: a[2]))
            case 2: out.append(.regPoll(addr: a[0], mask: a[1], value: a[2], timeoutUs: a[3], error: a[4]))
            case 3: out.append(.delayUs(a[0]))
            case 4: out.append(.regStore(addr: a[0], index: a[1]))
            case 5: out.append(.coreReset)
            case 6: out.append(.coreStart)
            case 7: out.append(.coreWaitForHalt)
            default: out.append(.coreResume)
            }
            p += 1 + n
        }
        commands = out
    }
}
