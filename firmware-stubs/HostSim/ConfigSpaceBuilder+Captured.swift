import GPUModels
import HostKit

extension ConfigSpaceBuilder {
    /// A PF's config space from a real function's captured bytes (`DeviceSpec.configSpace`):
    /// everything as captured except the BAR registers (this host's addresses), the Device
    /// Serial Number (this host's serial) and SR-IOV, put back in the extended chain at
    /// `sriov.capOffset` over the Null entry a hypervisor left there (its next pointer kept).
    static func fromCapture(_ base: [UInt8], _ p: Inputs) -> [UInt8] {
        var b = ConfigSpaceBuilder()
        b.bytes = base
        let s = p.spec
        for bar in s.bars ?? [] {
            let r = barRegister(p.barAddresses[bar.index] ?? 0, bar)
            b.put32(0x10 + 4 * bar.index, r.lo)
            if let hi = r.hi, bar.index < 5 { b.put32(0x10 + 4 * (bar.index + 1), hi) }
        }
        // Walk the extended chain: the DSN gets this host's serial; the Null entry at the
        // SR-IOV offset becomes SR-IOV.
        let srAt = s.sriov?.capOffset.map { Int($0.value) }
        var off = 0x100
        var seen = Set<Int>()
        while off >= 0x100, off + 4 <= b.bytes.count, seen.insert(off).inserted {
            let header =
                UInt32(b.bytes[off]) | UInt32(b.bytes[off + 1]) << 8 | UInt32(b.bytes[off + 2]) << 16 | UInt32(
                    b.bytes[off + 3]) << 24
            let id = UInt16(header & 0xffff)
            let next = Int(header >> 20)
            if id == CapabilityID.extDSN, s.serialNumber == true, let serial = p.serial {
                b.put32(off + 4, UInt32(truncatingIfNeeded: serial))
                b.put32(off + 8, UInt32(truncatingIfNeeded: serial >> 32))
            }
            if let sr = s.sriov, off == srAt, id == 0 {
                for i in 4..<SRIOVCapability.size { b.bytes[off + i] = 0 }
                b.put32(off, UInt32(CapabilityID.extSRIOV) | (1 << 16) | (UInt32(next) << 20))
                b.put16(off + SRIOVCapability.ctrl, p.numVFs > 0 ? 0x0019 : 0x0010)
                b.put16(off + SRIOVCapability.initialVF, UInt16(sr.initialVFs ?? sr.totalVFs))
                b.put16(off + SRIOVCapability.totalVF, UInt16(sr.totalVFs))
                b.put16(off + SRIOVCapability.numVF, p.numVFs)
                b.put16(off + SRIOVCapability.vfOffset, UInt16(sr.vfOffset))
                b.put16(off + SRIOVCapability.vfStride, UInt16(sr.vfStride))
                b.put16(off + SRIOVCapability.vfDID, UInt16(truncatingIfNeeded: sr.vfDeviceID.value))
                b.put32(off + SRIOVCapability.supPgSize, 0x573)  // as the L20 capture
                b.put32(off + SRIOVCapability.sysPgSize, 0x1)
                for bar in sr.vfBars ?? [] {
                    let r = barRegister(p.vfBarAddresses[bar.index] ?? 0, bar)
                    b.put32(off + SRIOVCapability.bar0 + 4 * bar.index, r.lo)
                    if let hi = r.hi, bar.index < 5 { b.put32(off + SRIOVCapability.bar0 + 4 * (bar.index + 1), hi) }
                }
            }
            if next == 0 { break }
            off = next
        }
        return b.bytes
    }
}
