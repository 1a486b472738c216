#if canImport(Glibc)
    import Glibc
#endif

/// BAR0 as the CPU sequencer sees it. The simulation implements it over ``SimRegisters``; a
/// real driver would map BAR0 (vgpuctl never does: on a real host the kernel boots GSP).
public protocol GSPRegisterAccess {
    /// The register's value, or nil when there is no such register.
    func read32(_ addr: UInt32) -> UInt32?
    /// Writes the register; false when there is no such register.
    func write32(_ addr: UInt32, _ value: UInt32) -> Bool
}

extension SimRegisters: GSPRegisterAccess {
    public func read32(_ addr: UInt32) -> UInt32? { read(addr) }
    public func write32(_ addr: UInt32, _ value: UInt32) -> Bool { write(addr, value) }
}

/// Runs a `GSP_RUN_CPU_SEQUENCER` buffer the way nova-core's `sequencer.rs` does: register
/// writes, read-modify-writes, polls with a timeout (0 means 4 s), delays, stores into the
/// save area, and the four core operations. In the simulation the core operations act on the
/// simulated GSP RISC-V `CPUCTL` register and mailboxes: reset clears it, start sets
/// "started", wait-for-halt finds the simulated core halted at once, and resume writes the
/// LibOS address to the mailboxes, checks SEC2's mailbox 0 for an error, marks the core active
/// and rings the doorbell, which is what lets GSP-RM finish booting.
public struct CPUSequencerRunner {
    public let registers: GSPRegisterAccess
    /// Waits (sleeping) until the condition holds or the time passes; true when it holds.
    public let waitUntil: (ContinuousClock.Instant, () -> Bool) -> Bool
    /// Rings the GSP doorbell.
    public let ring: () -> Void
    /// The save area `REG_STORE` fills.
    public private(set) var regSaveArea = [UInt32](repeating: 0, count: 8)

    public init(
        registers: GSPRegisterAccess, waitUntil: @escaping (ContinuousClock.Instant, () -> Bool) -> Bool,
        ring: @escaping () -> Void
    ) {
        self.registers = registers
        self.waitUntil = waitUntil
        self.ring = ring
    }

    /// Runs every command; throws at the first that fails, naming its index.
    public mutating func run(_ seq: RunCPUSequencer) throws(GSPError) {
        regSaveArea = seq.regSaveArea
        for (i, cmd) in seq.commands.enumerated() {
            if let problem = execute(cmd) {
                throw .protocolViolation("CPU sequencer command \(i) (\(cmd)) failed: \(problem)")
            }
        }
    }

    private func read(_ a: UInt32) -> UInt32? { registers.read32(a) }

    private mutating func execute(_ cmd: SequencerCommand) -> String? {
        let cpuctl = SimRegisters.Address.gspRiscvCpuctl
        switch cmd {
        case .regWrite(let a, let v):
            return registers.write32(a, v) ? nil : "register \(hex0x(a)) does not exist"
        case .regModify(let a, let m, let v):
            guard let old = read(a) else { return "register \(hex0x(a)) does not exist" }
            _ = registers.write32(a, (old & ~m) | v)
            return nil
        case .regPoll(let a, let m, let v, let t, _):
            guard read(a) != nil else { return "register \(hex0x(a)) does not exist" }
            let timeout = Duration.microseconds(t == 0 ? 4_000_000 : Int64(t))
            let ok = waitUntil(ContinuousClock.now + timeout) { (self.read(a) ?? 0) & m == v }
            return ok
                ? nil
                : "register \(hex0x(a)) & \(hex0x(m)) did not become \(hex0x(v)) within \(t == 0 ? 4_000_000 : t) us (it reads \(hex0x(read(a) ?? 0)))"
        case .delayUs(let us):
            usleep(min(us, 1_000_000))
            return nil
        case .regStore(let a, let i):
            guard let v = read(a) else { return "register \(hex0x(a)) does not exist" }
            guard i < 8 else { return "save-area index \(i) is beyond the 8 slots" }
            regSaveArea[Int(i)] = v
            return nil
        case .coreReset:
            return registers.write32(cpuctl, 0) ? nil : "the simulated GSP core has no CPUCTL"
        case .coreStart:
            _ = registers.write32(cpuctl, SimRegisters.Cpuctl.started)
            return nil
        case .coreWaitForHalt:
            _ = registers.write32(cpuctl, (read(cpuctl) ?? 0) | SimRegisters.Cpuctl.halted)
            return nil
        case .coreResume:
            _ = registers.write32(SimRegisters.Address.gspMailbox0, 0x1000)
            _ = registers.write32(SimRegisters.Address.gspMailbox1, 0)
            if let e = read(SimRegisters.Address.sec2Mailbox0), e != 0 {
                return "SEC2 reports error \(hex0x(e)) in its mailbox 0"
            }
            _ = registers.write32(cpuctl, SimRegisters.Cpuctl.active)
            ring()
            return read(cpuctl).map { $0 & SimRegisters.Cpuctl.active != 0 } == true
                ? nil : "the RISC-V core is not active"
        }
    }
}
