import Foundation
import Glibc
import HostKit
import TestSupport
import Testing

/// `SysfsReader.Directory`: one listing with kinds, files read relative to it.
@Suite struct SysfsDirectoryTests {
    let fm = FileManager.default

    func tree() throws -> HostRoot {
        let root = HostRoot(TestSupport.tempDir("sysfs-dir") + "/host")
        try fm.createDirectory(atPath: root.url("d/sub"), withIntermediateDirectories: true)
        try "0x10de\n".write(toFile: root.url("d/vendor"), atomically: true, encoding: .utf8)
        try fm.createSymbolicLink(atPath: root.url("d/driver"), withDestinationPath: "../../bus/pci/drivers/vfio-pci")
        try "inner\n".write(toFile: root.url("d/sub/file"), atomically: true, encoding: .utf8)
        return root
    }

    @Test func entriesCarryTheirKindsAndFilesAreReadRelativeToTheDirectory() throws {
        let root = try tree()
        let d = try #require(SysfsReader(root: root).directory("d"))
        let kinds = Dictionary(uniqueKeysWithValues: d.entries.map { ($0.name, $0.kind) })
        #expect(kinds == ["sub": .directory, "vendor": .other, "driver": .link])
        #expect(d.attribute("vendor") == "0x10de\n" && d.text("vendor") == "0x10de\n")
        #expect(d.linkName("driver") == "vfio-pci" && d.linkTarget("driver") == "../../bus/pci/drivers/vfio-pci")
        #expect(d.linkName("vendor") == nil, "a file is no link")
        #expect(d.attribute("absent") == nil && d.text("absent") == nil && !d.has("absent"))
        let sub = try #require(d.child("sub"))
        #expect(sub.path == "d/sub" && sub.attribute("file") == "inner\n")
        #expect(d.child("vendor") == nil)
        #expect(SysfsReader(root: root).directory("d/vendor") == nil, "a file is no directory")
        #expect(SysfsReader(root: root).directory("missing") == nil)
    }

    /// A file longer than one read (a 4 KiB config space and more) comes whole.
    @Test func anAttributeLongerThanOneReadComesWhole() throws {
        let root = try tree()
        for size in [4095, 4096, 4097, 10000] {
            let body = String(repeating: "x", count: size)
            try body.write(toFile: root.url("d/long\(size)"), atomically: true, encoding: .utf8)
            let d = try #require(SysfsReader(root: root).directory("d"))
            #expect(d.attribute("long\(size)")?.count == size)
            #expect(d.text("long\(size)")?.count == size)
        }
    }

    /// A directory of more entries than fit one `getdents64` buffer (32 KiB) is listed whole.
    @Test func aLargeDirectoryIsListedWhole() throws {
        let root = try tree()
        for i in 0..<2000 {
            try "".write(toFile: root.url("d/sub/entry-with-a-longish-name-\(i)"), atomically: false, encoding: .utf8)
        }
        let names = Set(try #require(SysfsReader(root: root).directory("d/sub")).entries.map(\.name))
        #expect(names.count == 2001 && names.contains("entry-with-a-longish-name-1999") && names.contains("file"))
        #expect(names == Set(SysfsReader(root: root).list("d/sub")))
    }
}
