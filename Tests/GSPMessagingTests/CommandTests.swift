import Foundation
import HostKit
import TestSupport
import Testing

/// `vgpuctl gsp` on a real host and with bad arguments.
@Suite struct CommandTests {
    @Test func bootOnARealHostSaysItIsTheKernelsJob() throws {
        // A host tree without the simulation marker reads as a real host.
        let root = try h100Host()
        try FileManager.default.removeItem(atPath: root.url(HostRoot.simulationMarker))
        let r = try TestSupport.vgpuctl(["--root", root.path, "gsp", "boot", h100PF])
        #expect(r.status == 1)
        #expect(r.stderr.split(separator: "\n").count == 1)
        for w in [
            "kernel driver's job", "\(h100PF) [10de:2330] is bound to driver nvidia", "no fwctl devices",
            "simulated hosts",
        ] {
            #expect(r.stderr.contains(w), "stderr lacks '\(w)': \(r.stderr)")
        }
        #expect(processes(mentioning: root.path).isEmpty)
        let s = try TestSupport.vgpuctl(["--root", root.path, "gsp", "status"])
        #expect(s.status == 0 && s.stdout.contains("kernel driver runs GSP-RM"))
    }

    @Test(arguments: [
        (["gsp", "boot", "0000:zz:00.0"], "DDDD:BB:DD.F"),
        (["gsp", "boot", "0000:15:01.0"], "is not a GPU of simulated host model 'h100x8'"),
        (["gsp", "boot", "0000:7f:00.0"], "no PCI device 0000:7f:00.0"),
        (["gsp", "boot", "0000:18:00.0", "--registry", "RMSetSriovMode"], "KEY=VALUE"),
        (["gsp", "boot", "0000:18:00.0", "--timeout", "0"], "--timeout"),
        (["gsp", "boot", "0000:18:00.0", "--vgpu", "maybe"], "maybe"),
        (["gsp", "stop", "nope"], "nope"),
    ])
    func badArguments(args: [String], mention: String) throws {
        let root = try h100Host()
        let r = try TestSupport.vgpuctl(["--root", root.path] + args)
        #expect(r.status == 2, "exit \(r.status) for \(args): \(r.stderr)")
        #expect(r.stderr.contains(mention), "stderr lacks '\(mention)': \(r.stderr)")
        #expect(processes(mentioning: root.path).isEmpty)
    }

    @Test func stopWhenNothingRuns() throws {
        let root = try h100Host()
        let r = try TestSupport.vgpuctl(["--root", root.path, "gsp", "stop", h100PF])
        #expect(r.status == 0 && r.stdout.contains("no gsp-stub was running"))
    }
}
