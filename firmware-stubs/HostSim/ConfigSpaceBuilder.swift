import GPUModels
import HostKit

/// Builds the binary `config` file of a simulated function: a type 0 or type 1 header, a
/// standard capability list (power management, PCI Express) and an extended list (DSN, SR-IOV,
/// ARI, NVIDIA DVSEC) laid out as on real parts.
struct ConfigSpaceBuilder {
    var bytes = [UInt8](repeating: 0, count: 4096)

    mutating func put8(_ off: Int, _ v: UInt8) { bytes[off] = v }
    mutating func put16(_ off: Int, _ v: UInt16) {
        bytes[off] = UInt8(v & 0xff)
        bytes[off + 1] = UInt8(v >> 8)
    }
    mutating func put32(_ off: Int, _ v: UInt32) {
        for i in 0..<4 { bytes[off + i] = UInt8((v >> (8 * UInt32(i))) & 0xff) }
    }

    /// PCIe device/port types (`PCI_EXP_TYPE_*`).
    static func portType(_ name: String?) -> UInt16 {
        switch name {
        case "rootPort": 4
        case "upstream": 5
        case "downstream": 6
        default: 0
        }
    }

    /// A BAR register value for `address` with the flags of `bar`.
    static func barRegister(_ address: UInt64, _ bar: BARSpec) -> (lo: UInt32, hi: UInt32?) {
        let is64 = bar.is64Bit ?? false
        var lo = UInt32(truncatingIfNeeded: address) & ~0xF
        if is64 { lo |= 0x4 }
        if bar.prefetchable ?? false { lo |= 0x8 }
        return (lo, is64 ? UInt32(truncatingIfNeeded: address >> 32) : nil)
    }

    struct Inputs {
        var spec: DeviceSpec
        var isVF = false
        var multifunction = false
        var barAddresses: [Int: UInt64] = [:]
        var vfBarAddresses: [Int: UInt64] = [:]
        var serial: UInt64?
        var secondaryBus: UInt8 = 0
        var subordinateBus: UInt8 = 0
        var primaryBus: UInt8 = 0
        var numVFs: UInt16 = 0
    }

    /// The full 4096-byte config space of a function.
    static func build(_ p: Inputs) -> [UInt8] {
        if let base = p.spec.configSpaceBytes, base.count == 4096, !p.isVF { return fromCapture(base, p) }
        var b = ConfigSpaceBuilder()
        let s = p.spec
        let isBridge = (s.classCode.value >> 8) == 0x0604
        // A VF reads vendor and device id as ffff in its own config space (real-captures.md).
        b.put16(0x00, p.isVF ? 0xffff : UInt16(truncatingIfNeeded: s.vendorID.value))
        b.put16(0x02, p.isVF ? 0xffff : UInt16(truncatingIfNeeded: s.deviceID.value))
        b.put16(0x04, 0x0006)  // memory space + bus master
        b.put16(0x06, 0x0010)  // PCI_STATUS_CAP_LIST
        b.put8(0x08, UInt8(truncatingIfNeeded: s.revision?.value ?? 0))
        b.put8(0x09, UInt8(truncatingIfNeeded: s.classCode.value))
        b.put8(0x0A, UInt8(truncatingIfNeeded: s.classCode.value >> 8))
        b.put8(0x0B, UInt8(truncatingIfNeeded: s.classCode.value >> 16))
        b.put8(0x0E, (isBridge ? 1 : 0) | (p.multifunction ? 0x80 : 0))
        if isBridge {
            b.put8(0x18, p.primaryBus)
            b.put8(0x19, p.secondaryBus)
            b.put8(0x1A, p.subordinateBus)
        } else {
            for bar in s.bars ?? [] where !p.isVF {
                let addr = p.barAddresses[bar.index] ?? 0
                let r = barRegister(addr, bar)
                b.put32(0x10 + 4 * bar.index, r.lo)
                if let hi = r.hi, bar.index < 5 { b.put32(0x10 + 4 * (bar.index + 1), hi) }
            }
            b.put16(0x2C, UInt16(truncatingIfNeeded: s.subsystemVendorID?.value ?? 0))
            b.put16(0x2E, UInt16(truncatingIfNeeded: s.subsystemDeviceID?.value ?? 0))
        }
        b.put8(0x3D, isBridge ? 0 : 1)  // INTA#
        // Standard list: PM at 0x60 -> PCI Express at 0x68 (v2, 0x3c bytes).
        b.put8(0x34, 0x60)
        b.put8(0x60, CapabilityID.powerManagement)
        b.put8(0x61, 0x68)
        b.put16(0x62, 0x0003)
        b.put8(0x68, CapabilityID.pciExpress)
        b.put8(0x69, 0x00)
        let type = p.isVF ? 0 : portType(s.portType)
        b.put16(0x6A, 0x0002 | (type << 4))

        // Extended list, in this order where present: DSN, (SR-IOV, ARI), NVIDIA DVSEC.
        var ext: [(offset: Int, id: UInt16, len: Int, fill: (inout ConfigSpaceBuilder, Int) -> Void)] = []
        var next = 0x100
        if s.serialNumber == true, let serial = p.serial, !p.isVF {
            ext.append(
                (
                    next, CapabilityID.extDSN, 0xC,
                    { b, o in
                        b.put32(o + 4, UInt32(truncatingIfNeeded: serial))
                        b.put32(o + 8, UInt32(truncatingIfNeeded: serial >> 32))
                    }
                ))
            next += 0x10
        }
        if let sr = s.sriov, !p.isVF {
            let at = sr.capOffset.map { Int($0.value) } ?? next
            ext.append(
                (
                    at, CapabilityID.extSRIOV, SRIOVCapability.size,
                    { b, o in
                        b.put32(o + 4, 0)  // capabilities
                        // VFE|MSE when enabled, ARI hierarchy
                        b.put16(o + SRIOVCapability.ctrl, p.numVFs > 0 ? 0x0019 : 0x0010)
                        b.put16(o + SRIOVCapability.initialVF, UInt16(sr.initialVFs ?? sr.totalVFs))
                        b.put16(o + SRIOVCapability.totalVF, UInt16(sr.totalVFs))
                        b.put16(o + SRIOVCapability.numVF, p.numVFs)
                        b.put16(o + SRIOVCapability.vfOffset, UInt16(sr.vfOffset))
                        b.put16(o + SRIOVCapability.vfStride, UInt16(sr.vfStride))
                        b.put16(o + SRIOVCapability.vfDID, UInt16(truncatingIfNeeded: sr.vfDeviceID.value))
                        b.put32(o + SRIOVCapability.supPgSize, 0x573)  // as the L20 capture
                        b.put32(o + SRIOVCapability.sysPgSize, 0x1)
                        for bar in sr.vfBars ?? [] {
                            let r = barRegister(p.vfBarAddresses[bar.index] ?? 0, bar)
                            b.put32(o + SRIOVCapability.bar0 + 4 * bar.index, r.lo)
                            if let hi = r.hi, bar.index < 5 {
                                b.put32(o + SRIOVCapability.bar0 + 4 * (bar.index + 1), hi)
                            }
                        }
                    }
                ))
            next = max(next, at + SRIOVCapability.size)
            let ari = at + 0x48
            ext.append((ari, CapabilityID.extARI, 8, { _, _ in }))
            next = max(next, ari + 8)
        }
        if let bitmap = s.nvidiaDVSECBitmap, !p.isVF {
            let at = (next + 3) & ~3
            ext.append(
                (
                    at, CapabilityID.extDVSEC, 0x10,
                    { b, o in
                        // PCI_DVSEC_HEADER1: vendor, revision 0, length 0x10; HEADER2: DVSEC id 3.
                        b.put32(o + 4, UInt32(PCIIDs.nvidiaVendor) | (0x10 << 20))
                        b.put16(o + 8, NVIDIADVSEC.capabilityRegisterID)
                        b.put16(o + NVIDIADVSEC.bitmapOffset, UInt16(truncatingIfNeeded: bitmap.value))
                    }
                ))
            next = at + 0x10
        }
        ext.sort { $0.offset < $1.offset }
        // A list must start at 0x100: if the first capability is elsewhere, put a null
        // capability header (id 0, version 0) at 0x100 pointing to it, as hardware does.
        if let first = ext.first, first.offset != 0x100 {
            b.put32(0x100, UInt32(first.offset) << 20)
        }
        for (i, c) in ext.enumerated() {
            let nextOff = i + 1 < ext.count ? UInt32(ext[i + 1].offset) : 0
            b.put32(c.offset, UInt32(c.id) | (1 << 16) | (nextOff << 20))
            c.fill(&b, c.offset)
        }
        return b.bytes
    }
}
