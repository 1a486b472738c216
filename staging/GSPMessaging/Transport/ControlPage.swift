import CGSPMessaging

/// The firmware's state as the control page records it (`VGPUCTL_FW_STATE_*`).
public enum FirmwareState: UInt32, Sendable, Codable, CustomStringConvertible {
    case off = 0
    case starting, linked, running, halted, exited

    public var description: String {
        switch self {
        case .off: "off"
        case .starting: "starting"
        case .linked: "queues linked"
        case .running: "running"
        case .halted: "halted"
        case .exited: "exited"
        }
    }
}

/// The control page: vgpuctl's page after `GspMem` in the shared file, real shared memory between
/// the driver side and the firmware (`VGPUCTL_GSP_SIM_PAGE` in the C shim):
/// the stand-ins for the doorbell register, the interrupt, a few BAR0 registers, the boot
/// arguments and the firmware's liveness.
public struct ControlPage {
    public static let magic: UInt32 = 0x5053_4776
    enum Offset {
        static let magic = 0x00, layoutVersion = 0x04, firmwareState = 0x08, firmwarePid = 0x0C, haltCode = 0x10
        static let doorbellToGsp = 0x40, gspWaiters = 0x44
        static let doorbellToCpu = 0x80, cpuWaiters = 0x84
        static let cpuTxSeqNum = 0xC0, cpuRxSeqNum = 0xC4, cpuRpcSequence = 0xC8
        static let gspArguments = 0x100
        static let spaceForGsp = 0x180, spaceGspWaiters = 0x184
        static let spaceForCpu = 0x1C0, spaceCpuWaiters = 0x1C4
        static let wprMeta = 0x200
        static let registers = 0x400
    }
    public static let registerSlots = Int(VGPUCTL_SIM_REGISTERS)

    let mapping: SharedMapping
    let offset: Int

    public init(_ mapping: SharedMapping) {
        self.mapping = mapping
        offset = GspMemLayout.simPageOffset
    }

    func p(_ o: Int) -> UnsafeMutablePointer<UInt32> { mapping.u32(offset + o) }

    /// Writes the magic, layout version and boot arguments: what the driver does before it
    /// starts the firmware.
    public func initialize(arguments: MessageQueueInitArguments, wprMeta: WPRMeta) {
        mapping.write(offset + Offset.gspArguments, arguments.encoded)
        mapping.write(offset + Offset.wprMeta, wprMeta.encoded)
        vgpuctl_store_release_u32(p(Offset.layoutVersion), 1)
        vgpuctl_store_release_u32(p(Offset.magic), Self.magic)
    }

    /// Whether the page carries vgpuctl's magic.
    public var isInitialized: Bool { vgpuctl_load_acquire_u32(p(Offset.magic)) == Self.magic }

    public var firmwareState: FirmwareState {
        get { FirmwareState(rawValue: vgpuctl_load_acquire_u32(p(Offset.firmwareState))) ?? .off }
        nonmutating set { vgpuctl_store_release_u32(p(Offset.firmwareState), newValue.rawValue) }
    }

    public var firmwarePid: Int32 {
        get { Int32(bitPattern: vgpuctl_load_acquire_u32(p(Offset.firmwarePid))) }
        nonmutating set { vgpuctl_store_release_u32(p(Offset.firmwarePid), UInt32(bitPattern: newValue)) }
    }

    /// The `NV_STATUS` the firmware halted with.
    public var haltCode: UInt32 {
        get { vgpuctl_load_acquire_u32(p(Offset.haltCode)) }
        nonmutating set { vgpuctl_store_release_u32(p(Offset.haltCode), newValue) }
    }

    /// The doorbell the CPU rings (NV_PGSP_QUEUE_HEAD stand-in).
    public var toGSP: Doorbell { Doorbell(word: p(Offset.doorbellToGsp), waiters: p(Offset.gspWaiters)) }
    /// The doorbell the GSP rings (interrupt stand-in).
    public var toCPU: Doorbell { Doorbell(word: p(Offset.doorbellToCpu), waiters: p(Offset.cpuWaiters)) }

    /// The data doorbell `side` waits on for messages (rung by the other side after writing).
    public func doorbell(waitedOnBy side: GSPSide) -> Doorbell { side == .cpu ? toCPU : toGSP }

    /// The space doorbell `side` waits on when its queue is full (rung by the other side after
    /// consuming). Separate from the data doorbell so that consuming never wakes a peer that
    /// waits for a reply.
    public func spaceDoorbell(waitedOnBy side: GSPSide) -> Doorbell {
        side == .cpu
            ? Doorbell(word: p(Offset.spaceForCpu), waiters: p(Offset.spaceCpuWaiters))
            : Doorbell(word: p(Offset.spaceForGsp), waiters: p(Offset.spaceGspWaiters))
    }

    /// Driver-side counters kept in the page so that a later vgpuctl process continues the
    /// sequence: next element to send, next element expected, next RPC sequence.
    public var cpuCounters: (tx: UInt32, rx: UInt32, rpc: UInt32) {
        get { (p(Offset.cpuTxSeqNum).pointee, p(Offset.cpuRxSeqNum).pointee, p(Offset.cpuRpcSequence).pointee) }
        nonmutating set {
            p(Offset.cpuTxSeqNum).pointee = newValue.tx
            p(Offset.cpuRxSeqNum).pointee = newValue.rx
            p(Offset.cpuRpcSequence).pointee = newValue.rpc
        }
    }

    public var gspArguments: MessageQueueInitArguments {
        MessageQueueInitArguments(decoding: mapping.bytes(offset + Offset.gspArguments, MessageQueueInitArguments.size))
    }

    public var wprMeta: WPRMeta {
        WPRMeta(decoding: mapping.bytes(offset + Offset.wprMeta, WPRMeta.size))
    }

    /// The simulated BAR0 registers.
    public var registers: SimRegisters { SimRegisters(page: self) }
}

/// BAR0 registers of the simulated GPU: a small table of (address, value) pairs in the
/// control page, shared by the driver (which runs the CPU sequencer against it) and the
/// stub. Addresses are keys only; nothing touches hardware.
public struct SimRegisters {
    let page: ControlPage

    /// Registers the simulation knows. Addresses follow nova-core's `regs.rs` for the GSP and
    /// SEC2 falcons (base 0x110000 and 0x840000; MAILBOX0/1 at +0x40/+0x44; RISC-V CPUCTL at
    /// +0x1388 of the falcon) and NV_PGSP_QUEUE_HEAD(0) at 0x110c00.
    public enum Address {
        public static let gspMailbox0: UInt32 = 0x0011_0040
        public static let gspMailbox1: UInt32 = 0x0011_0044
        public static let gspQueueHead: UInt32 = 0x0011_0C00
        public static let gspRiscvCpuctl: UInt32 = 0x0011_1388
        public static let sec2Mailbox0: UInt32 = 0x0084_0040
        public static let sec2Mailbox1: UInt32 = 0x0084_0044
        public static let all: [UInt32] = [
            gspMailbox0, gspMailbox1, gspQueueHead, gspRiscvCpuctl, sec2Mailbox0, sec2Mailbox1,
        ]
    }

    /// `CPUCTL` bits of the simulated RISC-V core.
    public enum Cpuctl {
        public static let halted: UInt32 = 1 << 4
        public static let active: UInt32 = 1 << 7
        public static let started: UInt32 = 1 << 1
    }

    private func slot(_ addr: UInt32) -> Int? {
        for i in 0..<ControlPage.registerSlots {
            let a = vgpuctl_load_acquire_u32(page.p(ControlPage.Offset.registers + 8 * i))
            if a == addr { return i }
            if a == 0 { return nil }
        }
        return nil
    }

    /// Creates the known registers with value 0 (done once by the driver).
    public func reset() {
        for (i, a) in Address.all.enumerated() {
            vgpuctl_store_release_u32(page.p(ControlPage.Offset.registers + 8 * i + 4), 0)
            vgpuctl_store_release_u32(page.p(ControlPage.Offset.registers + 8 * i), a)
        }
    }

    /// The value of `addr`, or nil when the simulation has no such register.
    public func read(_ addr: UInt32) -> UInt32? {
        slot(addr).map { vgpuctl_load_acquire_u32(page.p(ControlPage.Offset.registers + 8 * $0 + 4)) }
    }

    /// Writes `addr`; false when the simulation has no such register.
    @discardableResult
    public func write(_ addr: UInt32, _ value: UInt32) -> Bool {
        guard let s = slot(addr) else { return false }
        vgpuctl_store_release_u32(page.p(ControlPage.Offset.registers + 8 * s + 4), value)
        return true
    }
}
