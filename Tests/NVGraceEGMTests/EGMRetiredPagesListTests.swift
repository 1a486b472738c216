import Foundation
import HostKit
import NVGraceEGM
import TestSupport
import Testing

/// EGM retired pages over the RFC UAPI: the EGM_RETIRED_PAGES_LIST layout byte by byte, the argsz
/// protocol against a fake with the RFC driver's semantics, the real ioctl's errors.
@Suite struct EGMRetiredPagesListTests {
    /// A filled `struct egm_retired_pages_list` with two 64 KiB pages.
    static let twoPages: [UInt8] = [
        0x28, 0x00, 0x00, 0x00,  // argsz = 0x28 (8 + 2 * 16)
        0x02, 0x00, 0x00, 0x00,  // count = 2
        0x00, 0x00, 0x2b, 0x1a, 0x00, 0x00, 0x00, 0x00,  // [0].offset = 0x1a2b0000
        0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,  // [0].size   = 0x10000
        0x00, 0x00, 0x4d, 0x3c, 0x00, 0x00, 0x00, 0x00,  // [1].offset = 0x3c4d0000
        0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,  // [1].size   = 0x10000
    ]

    @Test func layoutMatchesTheUAPI() {
        #expect(EGMRetiredPagesList.request == 0x4564)  // _IO('E', 100)
        #expect(EGMRetiredPagesList.headerSize == 8)
        #expect(EGMRetiredPagesList.entrySize == 16)
        let d = EGMRetiredPagesList.decode(Self.twoPages)
        #expect(d.argsz == 0x28 && d.count == 2)
        #expect(
            d.pages == [
                EGMRetiredPage(offset: 0x1a2b_0000, size: 0x10000), EGMRetiredPage(offset: 0x3c4d_0000, size: 0x10000),
            ])
        // A count larger than the bytes holds yields only what is there.
        #expect(EGMRetiredPagesList.decode(Array(Self.twoPages.prefix(24))).pages.count == 1)
    }

    /// One EGM_RETIRED_PAGES_LIST call with the driver's semantics (nvgrace_egm_ioctl):
    /// argsz < 8 is EINVAL; too small for the list: argsz = needed, count = 0, success.
    final class FakeEGM: @unchecked Sendable {
        var pages: [UInt64]
        var growBy = 0
        var calls: [UInt32] = []
        init(_ pages: [UInt64]) { self.pages = pages }

        func call(_ buf: UnsafeMutableRawBufferPointer) -> Int32 {
            let argsz = buf.load(fromByteOffset: 0, as: UInt32.self)
            calls.append(argsz)
            guard argsz >= 8 else { return EINVAL }
            pages += (0..<growBy).map { UInt64(0x100000 * (pages.count + $0)) }
            let needed = 8 + 16 * pages.count
            if Int(argsz) < needed {
                buf.storeBytes(of: UInt32(needed), toByteOffset: 0, as: UInt32.self)
                buf.storeBytes(of: UInt32(0), toByteOffset: 4, as: UInt32.self)
                return 0
            }
            for (k, off) in pages.enumerated() {
                buf.storeBytes(of: off, toByteOffset: 8 + 16 * k, as: UInt64.self)
                buf.storeBytes(of: UInt64(4096), toByteOffset: 16 + 16 * k, as: UInt64.self)
            }
            buf.storeBytes(of: UInt32(pages.count), toByteOffset: 4, as: UInt32.self)
            return 0
        }
    }

    @Test(arguments: [0, 2, 32, 33, 1000])
    func argszProtocolReturnsEveryPage(count: Int) throws {
        let fake = FakeEGM((0..<count).map { UInt64($0) << 16 })
        let pages = try EGMRetiredPagesList.query(fake.call)
        #expect(pages.map(\.offset) == fake.pages)
        #expect(pages.allSatisfy { $0.size == 4096 })
        // One call when the first buffer is big enough, else one more with the size asked for.
        let expectedCalls = count <= EGMRetiredPagesList.initialCapacity ? 1 : 2
        #expect(fake.calls.count == expectedCalls, "\(fake.calls)")
        if count > EGMRetiredPagesList.initialCapacity { #expect(fake.calls[1] == UInt32(8 + 16 * count)) }
    }

    @Test func argszProtocolFailures() {
        let growing = FakeEGM(Array(repeating: 0, count: 40))
        growing.growBy = 5
        #expect(throws: EGMRetiredPagesList.Failure.unstable) { try EGMRetiredPagesList.query(growing.call) }
        #expect(throws: EGMRetiredPagesList.Failure.errno(.noSuchDevice)) {
            try EGMRetiredPagesList.query { _ in ENODEV }
        }
        // A driver that claims more entries than fit.
        #expect(throws: EGMRetiredPagesList.Failure.overflow(count: 99, argsz: 520)) {
            try EGMRetiredPagesList.query { buf in
                buf.storeBytes(of: UInt32(99), toByteOffset: 4, as: UInt32.self)
                return 0
            }
        }
    }

    @Test func realIoctlOnSomethingThatIsNotEGM() throws {
        let dir = TestSupport.tempDir("egm")
        try FileManager.default.createDirectory(atPath: dir + "/dev", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dir + "/dev/egm9", withDestinationPath: "/dev/null")
        let dev = EGMDevice(root: HostRoot(dir))
        #expect {
            try dev.retiredPages(pxm: 9)
        } throws: { e in
            let m = (e as? VGPUError)?.message ?? ""
            return m.contains("/dev/egm9") && m.contains("did not answer EGM_RETIRED_PAGES_LIST")
                && m.contains("0x4564")
        }
        #expect {
            try dev.retiredPages(pxm: 3)
        } throws: { e in
            ((e as? VGPUError)?.message ?? "").contains("egm3 does not exist")
        }
    }
}

@Suite struct EGMRetiredPagesProtocolTests {
    /// Regression (seen while writing the fuzz target): a reply whose argsz asks for 4 GiB is refused, not allocated.
    @Test func aHugeArgszIsRefused() {
        var calls = 0
        #expect(throws: EGMRetiredPagesList.Failure.self) {
            _ = try EGMRetiredPagesList.query { buf in
                calls += 1
                buf.storeBytes(of: UInt32(0xFFFF_FFF0).littleEndian, toByteOffset: 0, as: UInt32.self)
                buf.storeBytes(of: UInt32(0), toByteOffset: 4, as: UInt32.self)
                return 0
            }
        }
        #expect(calls == 1)
    }
}
