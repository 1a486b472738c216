import HostKit
import Testing

/// Builds config space from annotated hex: `(offset, "bytes in hex, little-endian as on the wire")`.
func config(_ pieces: [(Int, String)], size: Int = 4096) -> ConfigSpace {
    var b = [UInt8](repeating: 0, count: size)
    for (off, hexText) in pieces {
        let digits = hexText.filter { !$0.isWhitespace }
        var i = digits.startIndex
        var o = off
        while i < digits.endIndex {
            let j = digits.index(i, offsetBy: 2)
            b[o] = UInt8(digits[i..<j], radix: 16)!
            i = j
            o += 1
        }
    }
    return ConfigSpace(b)
}

@Suite struct ConfigSpaceTests {
    /// An L20-like PF (real-captures.md): SR-IOV at 0xbcc, ARI at 0xc14, DSN at 0x100.
    static let l20 = config([
        (0x00, "de10 b726"),  // vendor 10de, device 26b7
        (0x06, "1000"),  // status: capability list
        (0x0e, "00"),  // header type 0
        (0x34, "60"),  // capabilities pointer
        (0x60, "01 68 0300"),  // PM, next 0x68
        (0x68, "10 00 0200"),  // PCI Express v2, endpoint, end of list
        // DSN at 0x100: id 0003, version 1, next 0xbcc -> header 0xbcc10003
        (0x100, "0300 c1bc"),
        (0x104, "0c0b0a09 08070605"),  // serial 0x05060708090a0b0c
        // SR-IOV at 0xbcc: id 0010 v1, next 0xc14 -> 0xc1410010
        (0xbcc, "1000 41c1"),
        (0xbd0, "00000000"),  // SR-IOV capabilities
        (0xbd4, "1000 0000"),  // control: ARI hierarchy; status 0
        (0xbd8, "2000 2000"),  // InitialVFs 32, TotalVFs 32
        (0xbdc, "0000 00 00"),  // NumVFs 0, function dependency link 0
        (0xbe0, "0400 0100"),  // First VF offset 4, VF stride 1
        (0xbe4, "0000 ba26"),  // reserved, VF device id 26ba
        (0xbe8, "73050000 01000000"),  // supported page sizes 0x573, system page size 1
        (0xbf0, "0000005a"),  // VF BAR0: 0x5a000000, 32-bit non-prefetchable
        (0xbf4, "0c000080 08000000"),  // VF BAR1/2: 0x0000000880000000, 64-bit prefetchable
        (0xbfc, "0c000002 08000000"),  // VF BAR3/4: 0x0000000802000000, 64-bit prefetchable
        // ARI at 0xc14: id 000e v1, next 0xc24 (DVSEC)
        (0xc14, "0e00 41c2"),
        // DVSEC at 0xc24: id 0023 v1, end; header1 vendor 10de rev 0 len 0x10; header2 id 3; bitmap 0x0001
        (0xc24, "2300 0100"),
        (0xc28, "de10 0001"),
        (0xc2c, "0300"),
        (0xc2e, "0100"),
    ])

    @Test func walksStandardCapabilities() {
        #expect(Self.l20.capabilities.map(\.offset) == [0x60, 0x68])
        #expect(Self.l20.capabilities.map(\.id) == [0x01, 0x10])
        #expect(Self.l20.pcieDevicePortType == 0)
    }

    @Test func walksExtendedCapabilities() {
        let ext = Self.l20.extendedCapabilities
        #expect(ext.map(\.offset) == [0x100, 0xbcc, 0xc14, 0xc24])
        #expect(ext.map(\.id) == [0x0003, 0x0010, 0x000e, 0x0023])
    }

    @Test func decodesSRIOVAsTheL20Capture() throws {
        let sr = try #require(Self.l20.sriov)
        #expect(sr.offset == 0xbcc)
        #expect(sr.initialVFs == 32 && sr.totalVFs == 32 && sr.numVFs == 0)
        #expect(sr.firstVFOffset == 4 && sr.vfStride == 1 && sr.vfDeviceID == 0x26ba)
        #expect(sr.supportedPageSizes == 0x573 && sr.systemPageSize == 1)
        #expect(!sr.vfEnabled)
        #expect(sr.vfBARs.map(\.index) == [0, 1, 3])
        #expect(
            sr.bar(0)
                == SRIOVCapability.BAR(index: 0, address: 0x5a00_0000, is64Bit: false, prefetchable: false, isIO: false)
        )
        #expect(
            sr.bar(1)
                == SRIOVCapability.BAR(index: 1, address: 0x8_8000_0000, is64Bit: true, prefetchable: true, isIO: false)
        )
        #expect(sr.bar(3)?.address == 0x8_0200_0000)
    }

    @Test func decodesDeviceSerialNumber() {
        #expect(Self.l20.deviceSerialNumber == 0x0506_0708_090a_0b0c)
    }

    @Test func decodesNVIDIADVSECAndTheMIGBug() throws {
        let d = try #require(Self.l20.dvsec(vendor: 0x10de, id: 3))
        #expect(d.offset == 0xc24 && d.length == 0x10 && d.revision == 0)
        #expect(NVIDIADVSEC.bitmap(Self.l20) == 1)
        #expect(NVIDIADVSEC.hasMIGHardwareBug(Self.l20) == false)
        // Bit 0 clear: the bug is present.
        var bytes = Self.l20.bytes
        bytes[0xc2e] = 0
        #expect(NVIDIADVSEC.hasMIGHardwareBug(ConfigSpace(bytes)) == true)
        // No DVSEC at all: the kernel assumes the bug.
        #expect(NVIDIADVSEC.hasMIGHardwareBug(config([(0x06, "1000")])) == true)
    }

    @Test func shortConfigSpaceYieldsNoExtendedCapabilities() {
        // An unprivileged read of sysfs `config` returns the first 64 bytes.
        let short = ConfigSpace(Array(Self.l20.bytes.prefix(64)))
        #expect(short.extendedCapabilities.isEmpty)
        #expect(short.sriov == nil)
        #expect(short.capabilities.isEmpty)  // 0x60 is past the 64 bytes
        #expect(short.vendorID == 0x10de)
    }

    @Test func loopsAndGarbageEndTheWalk() {
        // A capability pointing to itself, and an extended header pointing back to 0x100.
        let looped = config([(0x06, "1000"), (0x34, "40"), (0x40, "05 40"), (0x100, "1000 0110")])
        #expect(looped.capabilities.count == 1)
        #expect(looped.extendedCapabilities.count == 1)
        let ones = ConfigSpace([UInt8](repeating: 0xff, count: 4096))
        #expect(ones.extendedCapabilities.isEmpty)
        #expect(ones.capabilities.count <= 48)
    }
}

@Suite struct SysfsParseTests {
    @Test func parsesTheKernelsFormats() {
        #expect(SysfsParse.hex("0x10de\n") == 0x10de)
        #expect(SysfsParse.hex("26ba\n") == 0x26ba)
        #expect(SysfsParse.hex("") == nil)
        #expect(SysfsParse.hex("0xzz") == nil)
        #expect(SysfsParse.int("-1\n") == -1)
        #expect(SysfsParse.driverOverride("(null)\n") == nil)
        #expect(SysfsParse.driverOverride("vfio-pci\n") == "vfio-pci")
        let rs = SysfsParse.resources(
            "0x0000661002000000 0x0000661002ffffff 0x000000000014220c\n0x0000000000000000 0x0000000000000000 0x0000000000000000\nbad line\n"
        )
        #expect(rs.count == 2)
        #expect(rs[0].size == 16 << 20)
        #expect(rs[1].size == 0)
    }
}
