import Foundation
import HostKit
import TestSupport
import Testing
import Yams

/// The bad-input corpus (Tests/BadInput/cases.yaml): each malformed input gets its documented
/// exit status and a one-line message with the promised words, within its deadline, without a
/// crash, and leaves the host byte-for-byte as it was.
@Suite struct BadInputCorpusTests {
    struct Case: Decodable, CustomTestStringConvertible, Sendable {
        var name: String
        var command: String
        var model: String?
        var args: [String]
        var stdin: String?
        var files: [String: String]?
        /// Files written under the host root before the command (path relative to the root).
        var rootFiles: [String: String]?
        /// Files under the root a real process (`sleep`) holds open during the command; `{pid}`
        /// in `contains` is its pid.
        var holds: [String]?
        var exit: Int32
        var contains: [String]
        /// The error line's prefix: `vgpuctl: error: ` unless the command keeps another tool's
        /// (`nvidia-vgpu-dm: error: ` for NVIDIA's vgpu-device-manager command line).
        var errorPrefix: String?
        var testDescription: String { "\(command): \(name)" }
    }
    struct File: Decodable { var cases: [Case] }

    static let cases: [Case] = {
        let path = TestSupport.repositoryDirectory + "/Tests/BadInput/cases.yaml"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
            let file = try? YAMLDecoder().decode(File.self, from: text)
        else { return [] }
        return file.cases
    }()

    @Test func theCorpusLoadsAndCoversTheCommands() {
        #expect(Self.cases.count >= 50, "Tests/BadInput/cases.yaml did not load or is too small")
        let commands = Set(Self.cases.map(\.command))
        for c in [
            "list", "sim create", "vf enable", "vf create", "passthrough assign", "qemu args", "apply", "plan",
            "assert", "export nova", "device-plugin", "vgpu-dm",
        ] {
            #expect(commands.contains(c), "no bad-input case for \(c)")
        }
        // Each case checks the reason, not only that the message echoes its argument.
        for c in Self.cases {
            let args = c.args.joined(separator: " ")
            let reason = c.contains.contains { w in
                !args.contains(w) && !args.contains(w.trimmingCharacters(in: CharacterSet(charactersIn: "'")))
            }
            #expect(reason, "\(c.command): \(c.name): its words \(c.contains) only echo the arguments; name the reason")
        }
    }

    @Test(arguments: cases)
    func badInputIsRefusedCleanly(_ c: Case) throws {
        let model = c.model ?? "mixed"
        let root: HostRoot
        if model.hasSuffix("-vendor") {
            let dir = TestSupport.tempDir("bad") + "/host"
            let r = try TestSupport.vgpuctl([
                "sim", "create", dir, "--model", String(model.dropLast(7)), "--vgpu-interface", "vendor",
            ])
            try #require(r.status == 0, "\(r.stderr)")
            root = HostRoot(dir)
        } else {
            root = try TestSupport.simHost(model)
        }
        let dir = TestSupport.tempDir("bad-files")
        for (name, content) in c.files ?? [:] {
            try content.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
        }
        for (rel, content) in c.rootFiles ?? [:] {
            try FileManager.default.createDirectory(
                atPath: (root.url(rel) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try content.write(toFile: root.url(rel), atomically: true, encoding: .utf8)
        }
        let holder = try c.holds.map { files in try HostTrees.Holder(root: root, files: files.map { root.url($0) }) }
        defer { holder?.stop() }
        func fill(_ s: String) -> String {
            s.replacingOccurrences(of: "{root}", with: root.path).replacingOccurrences(of: "{dir}", with: dir)
                .replacingOccurrences(of: "{pid}", with: holder.map { String($0.pid) } ?? "{pid}")
        }
        let args = c.args.map(fill)
        let before = TestSupport.fingerprint(root.path)
        let dirBefore = TestSupport.fingerprint(dir)
        let started = Date()
        let r = try TestSupport.vgpuctl(args, environment: ["VGPUCTL_ROOT": root.path], stdin: c.stdin, timeout: 30)
        #expect(Date().timeIntervalSince(started) < 30, "\(c.name): ran past its deadline")
        #expect(r.status == c.exit, "\(c.name): exit \(r.status), want \(c.exit); stderr: \(r.stderr)")
        // One error line; informational notes (`vgpuctl: note:`, e.g. what --plan would do) may precede it.
        let lines = r.stderr.split(separator: "\n").filter { !$0.hasPrefix("vgpuctl: note:") }
        #expect(
            lines.count == 1 && lines[0].hasPrefix(c.errorPrefix ?? "vgpuctl: error: "),
            "\(c.name): want one error line on stderr, got: \(r.stderr)")
        for w in c.contains.map(fill) { #expect(r.stderr.contains(w), "\(c.name): message lacks '\(w)': \(r.stderr)") }
        #expect(TestSupport.fingerprint(root.path) == before, "\(c.name): the host changed")
        #expect(
            TestSupport.fingerprint(dir) == dirBefore, "\(c.name): the files it was given (or their directory) changed")
        #expect(r.stdout.isEmpty, "\(c.name): a refused command printed on stdout: \(r.stdout)")
    }
}
