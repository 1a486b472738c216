import ArgumentParser
import Foundation
import TestSupport
import Testing
import VGPUCtlCommands

/// What the command line answers before any command runs stays byte for byte what
/// Tests/CLI/surface.json recorded (Tests/CLI/record.py): the help of every command, the usage
/// errors of every command, the groups without or with a wrong subcommand, `--version`. A change
/// to how arguments are parsed (a faster start-up) must leave all of it unchanged.
@Suite struct CLISurfaceTests {
    struct Case: Decodable {
        var args: [String]
        var status: Int32
        var stdout: String
        var stderr: String
    }
    struct Surface: Decodable {
        var commands: [String]
        var cases: [Case]
    }

    static func surface() throws -> Surface {
        let path = TestSupport.repositoryDirectory + "/Tests/CLI/surface.json"
        return try JSONDecoder().decode(Surface.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// This process's VGPUCTL_* variables removed, as the recording had none.
    static var cleanEnvironment: [String: String?] {
        var env: [String: String?] = [:]
        for k in ProcessInfo.processInfo.environment.keys where k.hasPrefix("VGPUCTL_") { env[k] = .some(nil) }
        return env
    }

    @Test func everyCommandIsRecorded() throws {
        let dump = try TestSupport.vgpuctl(["--experimental-dump-help"], environment: Self.cleanEnvironment)
        #expect(dump.status == 0)
        struct Command: Decodable {
            var commandName: String
            var subcommands: [Command]?
        }
        struct Tree: Decodable { var command: Command }
        let tree = try JSONDecoder().decode(Tree.self, from: Data(dump.stdout.utf8))
        var paths: [String] = []
        func walk(_ c: Command, _ path: [String]) {
            paths.append(path.joined(separator: " "))
            for s in c.subcommands ?? [] { walk(s, path + [s.commandName]) }
        }
        walk(tree.command, [])
        #expect(
            paths == (try Self.surface().commands),
            "the command tree changed: re-record Tests/CLI/surface.json with Tests/CLI/record.py")
    }

    @Test func helpUsageAndErrorsAreByteIdentical() throws {
        let surface = try Self.surface()
        #expect(surface.cases.count > 200)
        for c in surface.cases {
            let r = try TestSupport.vgpuctl(c.args, environment: Self.cleanEnvironment)
            let what = "vgpuctl " + c.args.joined(separator: " ")
            #expect(r.status == c.status, "\(what): exit \(r.status), recorded \(c.status)")
            #expect(r.stdout == c.stdout, "\(what): stdout differs:\n\(r.stdout)\n--- recorded:\n\(c.stdout)")
            #expect(r.stderr == c.stderr, "\(what): stderr differs:\n\(r.stderr)\n--- recorded:\n\(c.stderr)")
        }
    }

    /// Every command names itself: without `commandName` the parser derives the name from the
    /// type's name (`String(describing:)`, a search of the runtime's conformance records per
    /// type), which was most of the start-up time of every command.
    @Test func everyCommandHasAnExplicitName() {
        var unnamed: [String] = []
        func walk(_ c: ParsableCommand.Type, _ path: String) {
            if c.configuration.commandName == nil { unnamed.append(path) }
            for s in c.configuration.subcommands { walk(s, path + " " + (s.configuration.commandName ?? "\(s)")) }
        }
        walk(VGPUCtl.self, "vgpuctl")
        #expect(unnamed.isEmpty, "commands without commandName: \(unnamed)")
    }
}
