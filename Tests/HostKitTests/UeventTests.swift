import Foundation
import Testing

@testable import HostKit

// The kernel uevent parser (byte-exact cases and fuzzing), the matcher, and the listener's wait
// logic over a scripted source. The listener on the real kernel socket is in
// UeventListenerTests.swift.

/// Bytes from annotated hex: pairs of hex digits; `#` starts a comment to the end of the line.
func hexBytes(_ text: String) -> [UInt8] {
    var out: [UInt8] = []
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
        let code = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        for token in code.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
            var t = Substring(token)
            while t.count >= 2 {
                out.append(UInt8(t.prefix(2), radix: 16)!)
                t = t.dropFirst(2)
            }
            precondition(t.isEmpty, "odd hex digit in \(token)")
        }
    }
    return out
}

/// A datagram in the kernel's format: `ACTION@DEVPATH\0` then `KEY=VALUE\0` per field.
func ueventBytes(_ header: String, _ fields: [String]) -> [UInt8] {
    ([header] + fields).flatMap { Array($0.utf8) + [0] }
}

extension Uevent {
    /// Serialises in the kernel's order: ACTION, DEVPATH, SUBSYSTEM, the rest sorted, SEQNUM.
    var kernelBytes: [UInt8] {
        let fixed = ["ACTION", "DEVPATH", "SUBSYSTEM", "SEQNUM"]
        let rest = properties.keys.filter { !fixed.contains($0) }.sorted()
        let fields =
            ["ACTION=\(action)", "DEVPATH=\(devpath)", "SUBSYSTEM=\(subsystem)"]
            + rest.map { "\($0)=\(properties[$0]!)" } + ["SEQNUM=\(seqnum)"]
        return ueventBytes("\(action)@\(devpath)", fields)
    }
}

@Suite("Uevent.parse")
struct UeventParseTests {
    @Test("a change event captured from this kernel (echo change > /sys/devices/virtual/net/lo/uevent)")
    func capturedChange() throws {
        let bytes = hexBytes(
            """
            63 68 61 6e 67 65 40                             # "change@"
            2f 64 65 76 69 63 65 73 2f 76 69 72 74 75 61 6c  # "/devices/virtual
            2f 6e 65 74 2f 6c 6f 00                          #  /net/lo" NUL
            41 43 54 49 4f 4e 3d 63 68 61 6e 67 65 00        # "ACTION=change" NUL
            44 45 56 50 41 54 48 3d                          # "DEVPATH="
            2f 64 65 76 69 63 65 73 2f 76 69 72 74 75 61 6c  # "/devices/virtual
            2f 6e 65 74 2f 6c 6f 00                          #  /net/lo" NUL
            53 55 42 53 59 53 54 45 4d 3d 6e 65 74 00        # "SUBSYSTEM=net" NUL
            53 59 4e 54 48 5f 55 55 49 44 3d 30 00           # "SYNTH_UUID=0" NUL
            49 4e 54 45 52 46 41 43 45 3d 6c 6f 00           # "INTERFACE=lo" NUL
            49 46 49 4e 44 45 58 3d 31 00                    # "IFINDEX=1" NUL
            53 45 51 4e 55 4d 3d 38 31 35 00                 # "SEQNUM=815" NUL
            """)
        #expect(bytes.count == 0x8a)
        let e = try #require(Uevent.parse(bytes))
        #expect(e.action == "change")
        #expect(e.devpath == "/devices/virtual/net/lo")
        #expect(e.subsystem == "net")
        #expect(e.seqnum == 815)
        #expect(e.pciSlotName == nil && e.driver == nil)
        #expect(
            e.properties == [
                "ACTION": "change", "DEVPATH": "/devices/virtual/net/lo", "SUBSYSTEM": "net",
                "SYNTH_UUID": "0", "INTERFACE": "lo", "IFINDEX": "1", "SEQNUM": "815",
            ])
    }

    @Test("add of a VF, with PCI_SLOT_NAME")
    func vfAdd() throws {
        let devpath = "/devices/pci0000:00/0000:00:01.0/0000:01:00.4"
        let bytes = ueventBytes(
            "add@\(devpath)",
            [
                "ACTION=add", "DEVPATH=\(devpath)", "SUBSYSTEM=pci",
                "PCI_CLASS=30200", "PCI_ID=10DE:2331", "PCI_SUBSYS_ID=10DE:1626",
                "PCI_SLOT_NAME=0000:01:00.4", "MODALIAS=pci:v000010DEd00002331sv000010DEsd00001626bc03sc02i00",
                "SEQNUM=4711",
            ])
        let e = try #require(Uevent.parse(bytes))
        #expect(e.action == "add" && e.subsystem == "pci" && e.seqnum == 4711)
        #expect(e.devpath == devpath)
        #expect(e.pciSlotName == "0000:01:00.4")
        #expect(e.pciAddress == PCIAddress("0000:01:00.4"))
        #expect(e.driver == nil)
        #expect(e.properties["PCI_ID"] == "10DE:2331")
        #expect(e.properties.count == 9)
        #expect(UeventMatch.pciAdd(PCIAddress("0000:01:00.4")!).matches(e))
    }

    @Test("bind with DRIVER=")
    func bind() throws {
        let devpath = "/devices/pci0000:00/0000:00:01.0/0000:01:00.4"
        let e = try #require(
            Uevent.parse(
                ueventBytes(
                    "bind@\(devpath)",
                    [
                        "ACTION=bind", "DEVPATH=\(devpath)", "SUBSYSTEM=pci", "DRIVER=vfio-pci",
                        "PCI_SLOT_NAME=0000:01:00.4", "SEQNUM=4712",
                    ])))
        #expect(e.action == "bind" && e.driver == "vfio-pci" && e.seqnum == 4712)
        let address = PCIAddress("0000:01:00.4")!
        #expect(UeventMatch.pciBind(address, driver: "vfio-pci").matches(e))
        #expect(UeventMatch.pciBind(address).matches(e))
        #expect(!UeventMatch.pciBind(address, driver: "nvidia").matches(e))
        #expect(!UeventMatch.pciAdd(address).matches(e))
    }

    @Test("remove of a VF")
    func remove() throws {
        let devpath = "/devices/pci0000:00/0000:00:01.0/0000:01:00.5"
        let e = try #require(
            Uevent.parse(
                ueventBytes(
                    "remove@\(devpath)",
                    [
                        "ACTION=remove", "DEVPATH=\(devpath)", "SUBSYSTEM=pci", "PCI_SLOT_NAME=0000:01:00.5",
                        "SEQNUM=4800",
                    ])))
        #expect(e.action == "remove" && e.pciSlotName == "0000:01:00.5")
        #expect(UeventMatch.pciRemove(PCIAddress("0000:01:00.5")!).matches(e))
    }

    @Test("udevd's libudev-prefixed re-broadcast is rejected")
    func libudevRejected() {
        // "libudev" NUL, magic 0xfeedcafe (network order), header size, then properties.
        let bytes =
            hexBytes(
                """
                6c 69 62 75 64 65 76 00   # "libudev" NUL
                fe ed ca fe               # UDEV_MONITOR_MAGIC
                28 00 00 00               # header_size 40
                28 00 00 00 20 00 00 00   # properties_off, properties_len
                00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  # filter hashes
                """) + ueventBytes("ACTION=add", ["DEVPATH=/devices/x", "SUBSYSTEM=pci", "SEQNUM=1"])
        #expect(Uevent.parse(bytes) == nil)
        // Even if the rest looks like a kernel uevent.
        #expect(Uevent.parse(Array("libudev".utf8) + ueventBytes("@/devices/x", ["SUBSYSTEM=pci", "SEQNUM=1"])) == nil)
    }

    @Test("trailing NUL padding and properties without ACTION/DEVPATH are accepted")
    func lenient() throws {
        let e = try #require(
            Uevent.parse(ueventBytes("add@/module/nvidia", ["SUBSYSTEM=module", "SEQNUM=7"]) + [0, 0, 0]))
        #expect(e.action == "add" && e.devpath == "/module/nvidia" && e.subsystem == "module")
        #expect(e.properties["ACTION"] == "add" && e.properties["DEVPATH"] == "/module/nvidia")
        // '=' inside a value; an empty value.
        let f = try #require(
            Uevent.parse(ueventBytes("change@/devices/x", ["SUBSYSTEM=pci", "A=b=c", "EMPTY=", "SEQNUM=8"])))
        #expect(f.properties["A"] == "b=c" && f.properties["EMPTY"] == "")
    }

    static let valid = ueventBytes(
        "add@/devices/pci0000:00/0000:00:01.0",
        [
            "ACTION=add", "DEVPATH=/devices/pci0000:00/0000:00:01.0", "SUBSYSTEM=pci",
            "PCI_SLOT_NAME=0000:00:01.0", "SEQNUM=42",
        ])

    /// A named malformed datagram; the name is what the test report shows.
    struct Malformed: Sendable, CustomTestStringConvertible {
        var name: String
        var bytes: [UInt8]
        init(_ name: String, _ bytes: [UInt8]) {
            self.name = name
            self.bytes = bytes
        }
        var testDescription: String { name }
    }

    @Test(
        "malformed input is rejected",
        arguments: [
            Malformed("empty", []),
            Malformed("only NULs", [0, 0, 0, 0]),
            Malformed("no @", Array("add".utf8) + [0] + Array("SUBSYSTEM=pci".utf8)),
            Malformed("empty action", ueventBytes("@/devices/x", ["SUBSYSTEM=pci", "SEQNUM=1"])),
            Malformed("upper-case action", ueventBytes("ADD@/devices/x", ["SUBSYSTEM=pci", "SEQNUM=1"])),
            Malformed("devpath without slash", ueventBytes("add@devices/x", ["SUBSYSTEM=pci", "SEQNUM=1"])),
            Malformed("empty devpath", ueventBytes("add@", ["SUBSYSTEM=pci", "SEQNUM=1"])),
            Malformed("header only", Array("add@/devices/x".utf8)),
            Malformed("no SUBSYSTEM", ueventBytes("add@/devices/x", ["ACTION=add", "SEQNUM=1"])),
            Malformed("empty SUBSYSTEM", ueventBytes("add@/devices/x", ["SUBSYSTEM=", "SEQNUM=1"])),
            Malformed("no SEQNUM", ueventBytes("add@/devices/x", ["ACTION=add", "SUBSYSTEM=pci"])),
            Malformed("SEQNUM not a number", ueventBytes("add@/devices/x", ["SUBSYSTEM=pci", "SEQNUM=12a"])),
            Malformed("SEQNUM signed", ueventBytes("add@/devices/x", ["SUBSYSTEM=pci", "SEQNUM=+12"])),
            Malformed(
                "SEQNUM overflows", ueventBytes("add@/devices/x", ["SUBSYSTEM=pci", "SEQNUM=18446744073709551616"])),
            Malformed("field without =", ueventBytes("add@/devices/x", ["SUBSYSTEM=pci", "GARBAGE", "SEQNUM=1"])),
            Malformed("empty key", ueventBytes("add@/devices/x", ["SUBSYSTEM=pci", "=value", "SEQNUM=1"])),
            Malformed("duplicate key", ueventBytes("add@/devices/x", ["SUBSYSTEM=pci", "SUBSYSTEM=net", "SEQNUM=1"])),
            Malformed(
                "ACTION disagrees", ueventBytes("add@/devices/x", ["ACTION=remove", "SUBSYSTEM=pci", "SEQNUM=1"])),
            Malformed(
                "DEVPATH disagrees", ueventBytes("add@/devices/x", ["DEVPATH=/devices/y", "SUBSYSTEM=pci", "SEQNUM=1"])),
            Malformed(
                "invalid UTF-8 in a value",
                ueventBytes("add@/devices/x", ["SUBSYSTEM=pci", "SEQNUM=1"]) + [0x41, 0x3d, 0xff, 0xfe, 0]),
            Malformed(
                "invalid UTF-8 in the devpath",
                Array("add@/devices/".utf8) + [0xc3, 0x28, 0] + ueventBytes("SUBSYSTEM=pci", ["SEQNUM=1"])),
            Malformed(
                "too large",
                ueventBytes(
                    "add@/devices/x", ["SUBSYSTEM=pci", "SEQNUM=1", "BIG=" + String(repeating: "x", count: 20_000)])),
            Malformed(
                "truncated before SEQNUM", Array(UeventParseTests.valid.prefix(UeventParseTests.valid.count - 10))),
            Malformed("truncated inside the header", Array(UeventParseTests.valid.prefix(5))),
        ])
    func rejected(_ input: Malformed) {
        #expect(Uevent.parse(input.bytes) == nil, "\(input.name)")
    }

    @Test("every truncation of a valid message is handled; only cuts inside the final SEQNUM value still parse")
    func truncations() {
        for n in 0...Self.valid.count {
            let e = Uevent.parse(Array(Self.valid.prefix(n)))
            // Cutting inside "SEQNUM=42" leaves "SEQNUM=4" (a different but valid number) or less.
            if n >= Self.valid.count - 2 { #expect(e != nil, "prefix \(n)") }
            if n <= Self.valid.count - 3 { #expect(e == nil, "prefix \(n)") }
        }
        #expect(Uevent.parse(Array(Self.valid.prefix(Self.valid.count - 2)))?.seqnum == 4)
    }

    @Test("serialising and parsing again gives the same event")
    func roundTrip() throws {
        let e = Uevent(
            action: "bind", devpath: "/devices/pci0000:00/0000:00:01.0/0000:01:00.7", subsystem: "pci",
            seqnum: 123_456_789_012, properties: ["DRIVER": "nvidia", "PCI_SLOT_NAME": "0000:01:00.7"])
        #expect(Uevent.parse(e.kernelBytes) == e)
        #expect(
            e.description
                == "bind pci /devices/pci0000:00/0000:00:01.0/0000:01:00.7 (seqnum 123456789012, driver nvidia)")
    }

    @Test("fuzz: random bytes and mutations of valid messages never trap")
    func fuzz() {
        var rng = SplitMix64(seed: 0x5eed_0f_fa11)
        let alphabet: [UInt8] = Array("add@/=\0SEQNUM=1SUBSYSTEM=pcilibudev\u{ff}".utf8) + [0, 0xff, 0xc3, 0x80]
        var parsed = 0
        for round in 0..<20_000 {
            var bytes: [UInt8]
            switch round % 3 {
            case 0:  // random bytes from a hostile alphabet
                bytes = (0..<Int(rng.next() % 200)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            case 1:  // fully random bytes
                bytes = (0..<Int(rng.next() % 300)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            default:  // a valid message with a few bytes flipped, inserted or deleted
                bytes = Self.valid
                for _ in 0..<(1 + Int(rng.next() % 4)) {
                    let i = Int(rng.next() % UInt64(bytes.count))
                    switch rng.next() % 3 {
                    case 0: bytes[i] = UInt8(truncatingIfNeeded: rng.next())
                    case 1: bytes.insert(alphabet[Int(rng.next() % UInt64(alphabet.count))], at: i)
                    default: if bytes.count > 1 { bytes.remove(at: i) }
                    }
                }
            }
            if let e = Uevent.parse(bytes) {
                parsed += 1
                #expect(!e.action.isEmpty && e.devpath.hasPrefix("/") && !e.subsystem.isEmpty)
                #expect(e.properties["SEQNUM"] == String(e.seqnum))
                #expect(Uevent.parse(e.kernelBytes) == e)
            }
        }
        // Some mutations keep the message valid (a flipped byte inside a value).
        #expect(parsed > 0)
    }
}

/// A small deterministic generator so fuzz failures reproduce.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

@Suite("UeventMatch")
struct UeventMatchTests {
    let event = Uevent(
        action: "add", devpath: "/devices/pci0000:00/0000:00:01.0/0000:01:00.4", subsystem: "pci",
        seqnum: 1, properties: ["PCI_SLOT_NAME": "0000:01:00.4", "SYNTH_UUID": "abc"])

    @Test("devpath suffixes match at a path-component boundary")
    func devpathSuffix() {
        func m(_ suffix: String) -> Bool {
            UeventMatch(action: "add", subsystem: "pci", devpathSuffix: suffix).matches(event)
        }
        #expect(m("0000:01:00.4"))
        #expect(m("/0000:01:00.4"))
        #expect(m("0000:00:01.0/0000:01:00.4"))
        #expect(m("/devices/pci0000:00/0000:00:01.0/0000:01:00.4"))
        #expect(!m("1:00.4"))
        #expect(!m("/devices/pci0000:00"))
        #expect(!m("0000:01:00.5"))
    }

    @Test("action, subsystem and extra properties must all match")
    func fields() {
        #expect(UeventMatch(action: "add", subsystem: "pci", properties: ["SYNTH_UUID": "abc"]).matches(event))
        #expect(!UeventMatch(action: "add", subsystem: "pci", properties: ["SYNTH_UUID": "abd"]).matches(event))
        #expect(!UeventMatch(action: "add", subsystem: "net").matches(event))
        #expect(!UeventMatch(action: "change", subsystem: "pci").matches(event))
        #expect(!UeventMatch(action: "add", subsystem: "pci", driver: "vfio-pci").matches(event))
        #expect(
            UeventMatch.pciBind(PCIAddress("0000:01:00.4")!, driver: "vfio-pci").description
                == "bind pci 0000:01:00.4 driver vfio-pci")
    }
}
