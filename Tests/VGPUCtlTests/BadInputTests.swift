import Foundation
import HostKit
import TestSupport
import Testing

/// Bad input: one clear line on stderr, exit status 2, nothing changed.
@Suite struct BadInputTests {
    func expectInvalid(
        _ args: [String], mentions words: [String], root: HostRoot? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let before = root.map { TestSupport.fingerprint($0.path) }
        let r = try TestSupport.vgpuctl(args)
        #expect(r.status == 2, "exit \(r.status) for \(args): \(r.stderr)", sourceLocation: sourceLocation)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1, "expected one line on stderr, got: \(r.stderr)", sourceLocation: sourceLocation)
        for w in words {
            #expect(r.stderr.contains(w), "stderr lacks '\(w)': \(r.stderr)", sourceLocation: sourceLocation)
        }
        #expect(r.stdout.isEmpty, sourceLocation: sourceLocation)
        if let root, let before {
            #expect(
                TestSupport.fingerprint(root.path) == before, "the host tree changed", sourceLocation: sourceLocation)
        }
    }

    @Test func rootThatDoesNotExist() throws {
        try expectInvalid(
            ["--root", "/nonexistent/vgpuctl-root", "list"], mentions: ["/nonexistent/vgpuctl-root", "does not exist"])
    }

    @Test func rootThatIsNotAHostTree() throws {
        let dir = TestSupport.tempDir()
        try expectInvalid(["--root", dir, "list"], mentions: [dir, "sys/bus/pci/devices"])
        try expectInvalid(["list", "--root", dir], mentions: [dir])
    }

    @Test func unknownModel() throws {
        let dir = TestSupport.tempDir() + "/x"
        try expectInvalid(["sim", "create", dir, "--model", "nope"], mentions: ["nope", "gh200x4"])
        #expect(!FileManager.default.fileExists(atPath: dir))
    }

    @Test(arguments: ["0000:zz:00.0", "../../etc", "0000:01:00", "01:00.9"])
    func malformedAddress(addr: String) throws {
        let root = try TestSupport.simHost("mixed")
        try expectInvalid(
            ["--root", root.path, "list", "--device", addr], mentions: ["'\(addr)'", "DDDD:BB:DD.F"], root: root)
    }

    @Test func wellFormedButUnknownAddress() throws {
        let root = try TestSupport.simHost("mixed")
        try expectInvalid(
            ["--root", root.path, "list", "--device", "0000:7f:00.0"], mentions: ["0000:7f:00.0"], root: root)
    }

    @Test func unknownOptionAndMissingArgument() throws {
        try expectInvalid(["list", "--bogus"], mentions: ["--bogus"])
        try expectInvalid(["sim", "create"], mentions: ["dir"])
    }

    @Test func simCreateOnANonEmptyForeignDirectory() throws {
        let dir = TestSupport.tempDir()
        try "keep".write(toFile: dir + "/keep", atomically: true, encoding: .utf8)
        try expectInvalid(
            ["sim", "create", dir, "--model", "mixed"], mentions: [dir, "not empty"], root: HostRoot(dir))
    }

    @Test func helpAndVersionExitZero() throws {
        let help = try TestSupport.vgpuctl(["--help"])
        #expect(
            help.status == 0 && help.stdout.contains("USAGE") && help.stdout.contains("passthrough"), "\(help.stdout)")
        let sub = try TestSupport.vgpuctl(["vf", "enable", "--help"])
        #expect(sub.status == 0 && sub.stdout.contains("--count"), "\(sub.stdout)")
        let v = try TestSupport.vgpuctl(["--version"])
        #expect(v.status == 0 && !v.stdout.isEmpty)
    }

    @Test func deviceFilterShowsOneDevice() throws {
        let root = try TestSupport.simHost("mixed")
        let r = try TestSupport.vgpuctl(["--root", root.path, "list", "--device", "04:00.0", "--json"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("\"0000:04:00.0\"") && !r.stdout.contains("0000:01:00.0"))
    }
}
