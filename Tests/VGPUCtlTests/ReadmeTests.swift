import Foundation
import TestSupport
import Testing

/// The README's first command is the main job in one line: a simulated host, an example host
/// config applied, one guest's QEMU arguments. It is run here as written (with the built
/// vgpuctl for `swift run vgpuctl`, a temporary directory for the demo host, and without the
/// dependency installer, which the test run has already done).
@Suite struct ReadmeTests {
    static func firstLine() throws -> String {
        let readme = try String(contentsOfFile: TestSupport.repositoryDirectory + "/README.md", encoding: .utf8)
        let afterFence = try #require(
            readme.components(separatedBy: "```sh\n").dropFirst().first, "README has no sh code block")
        return try #require(afterFence.split(separator: "\n").first.map(String.init))
    }

    @Test func theFirstCommandAppliesAnExampleConfigAndPrintsAGuestsQEMUArguments() throws {
        var line = try Self.firstLine()
        #expect(line.hasPrefix("bash .ci/install-deps.sh && "), "\(line)")
        let demo = TestSupport.tempDir("readme") + "/demo"
        line = line.replacingOccurrences(of: "bash .ci/install-deps.sh && ", with: "")
            .replacingOccurrences(of: "swift run vgpuctl", with: TestSupport.vgpuctl)
            .replacingOccurrences(of: "/tmp/vgpuctl-demo", with: demo)
        let r = try TestSupport.run("/bin/bash", ["-c", "cd '\(TestSupport.repositoryDirectory)' && " + line])
        #expect(r.status == 0, "\(line)\n\(r.stderr)")
        // The host was created and the config applied; the last command printed vm-a's devices.
        #expect(r.stdout.contains("applied config"), "\(r.stdout)")
        let devices = r.stdout.split(separator: "\n").filter { $0.hasPrefix("vfio-pci,") }
        #expect(
            devices == [
                "vfio-pci,host=0000:18:00.4,id=hostdev-0000-18-00.4",
                "vfio-pci,host=0000:18:00.5,id=hostdev-0000-18-00.5",
            ], "\(r.stdout)")
        #expect(line.contains("contrib/examples/"), "the config comes from contrib/examples: \(line)")
    }
}
