import Foundation
import HostKit
import HostSim
import TestSupport
import Testing
import VGPUTypes
import VirtualFunctions

/// Bad input to the stage-3 commands: one clear line on stderr, exit 2, nothing changed.
@Suite struct VFBadInputTests {
    func expectInvalid(
        _ root: HostRoot, _ args: [String], mentions words: [String],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let before = TestSupport.fingerprint(root.path)
        let r = try VF.run(root, args)
        #expect(r.status == 2, "exit \(r.status) for \(args): \(r.stderr)", sourceLocation: sourceLocation)
        #expect(
            r.stderr.split(separator: "\n").count == 1, "expected one line: \(r.stderr)", sourceLocation: sourceLocation
        )
        for w in words {
            #expect(r.stderr.contains(w), "stderr lacks '\(w)': \(r.stderr)", sourceLocation: sourceLocation)
        }
        #expect(r.stdout.isEmpty, sourceLocation: sourceLocation)
        #expect(TestSupport.fingerprint(root.path) == before, "the host tree changed", sourceLocation: sourceLocation)
    }

    @Test func unknownType() throws {
        let root = try VF.host("h100x8", .vendor)
        try expectInvalid(
            root, ["vf", "create", "0000:18:00.0", "--type", "H100XM-11C"],
            mentions: ["unknown vGPU type 'H100XM-11C'", "0000:18:00.0", "H100XM-10C", "profile list"])
        try expectInvalid(
            root, ["vf", "create", "0000:18:00.0", "--type", "h100xm-10c"], mentions: ["did you mean H100XM-10C?"])
    }

    @Test func aTypeOfAnotherGPUModel() throws {
        let root = try VF.host("h100x8", .vendor)
        try expectInvalid(
            root, ["vf", "create", "0000:18:00.0", "--type", "H100-10C"],
            mentions: [
                "H100-10C is a vGPU type of the NVIDIA H100 PCIe 80GB", "0x2331", "NVIDIA H100 SXM5 80GB", "H100XM-*",
            ])
        try expectInvalid(root, ["vf", "create", "0000:18:00.0", "--type", "L40S-48Q"], mentions: ["NVIDIA L40S"])
    }

    @Test func aVFOfAnotherPF() throws {
        let root = try VF.host("h100x8", .vendor)
        try VF.enable(root, VF.otherH100, autoprobe: true)
        try VF.enable(root, VF.h100, autoprobe: true)
        try expectInvalid(
            root, ["vf", "create", "0000:18:00.0", "--type", "H100XM-10C", "--vf", "0000:19:00.4"],
            mentions: ["0000:19:00.4 is a VF of 0000:19:00.0, not of 0000:18:00.0"])
        // Through the API as the reconciler uses it.
        let b = try VF.backend(root)
        let e = #expect(throws: VirtualFunctionsError.self) {
            try b.assign(type: "H100XM-10C", vf: PCIAddress("0000:19:00.4")!)
        }
        #expect(e?.codeName == "virtualfunctions.notAVF", "\(String(describing: e))")
        #expect(e?.status == .invalidInput && e?.message.contains("is a VF of 0000:19:00.0") == true)
    }

    @Test func notAVFAndNotAPF() throws {
        let root = try VF.host("h100x8", .vendor)
        try expectInvalid(
            root, ["vf", "assign", "0000:18:00.0", "--type", "H100XM-10C"], mentions: ["0000:18:00.0 is not a VF"])
        try expectInvalid(root, ["vf", "clear", "0000:7f:00.0"], mentions: ["no PCI device 0000:7f:00.0"])
        try expectInvalid(
            root, ["vf", "create", "0000:17:00.0", "--type", "H100XM-10C"], mentions: ["0000:17:00.0", "no SR-IOV"])
        try expectInvalid(
            root, ["vf", "create", "0000:18:00.0", "--type", "H100XM-10C", "--count", "0"],
            mentions: ["--count must be 1 or more"])
        try expectInvalid(
            root, ["vf", "create", "0000:18:00.0", "--type", "H100XM-10C", "--type", "H100XM-20C", "--count", "2"],
            mentions: ["one --count per --type"])
        try expectInvalid(root, ["profile", "list", "zz"], mentions: ["'zz'"])
    }

    @Test func aTypeOnAHostWithoutVGPUTypes() throws {
        let root = try VF.host("h100x8", .none)
        try expectInvalid(
            root, ["vf", "create", "0000:18:00.0", "--type", "H100XM-10C"],
            mentions: ["offers no vGPU types", "omit --type"])
    }

    @Test func aMalformedProfileFile() throws {
        let root = try VF.host("h100x8", .vendor)
        let dir = root.url(VGPUProfiles.userDirectory)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try
            "catalog: H100XM\ngpu: {name: X, deviceIDs: [0x2330], framebufferMiB: 81920, channels: 2048, copyEngines: 8, vfSlots: 32}\ntypes:\n  - {name: H100XM-10C, id: 1, maxInstances: eight}\n"
            .write(toFile: dir + "/site.yaml", atomically: true, encoding: .utf8)
        try expectInvalid(
            root, ["vf", "create", "0000:18:00.0", "--type", "H100XM-10C"],
            mentions: ["\(dir)/site.yaml:4:45:", "'maxInstances' must be a whole number", "'eight'"])
        try expectInvalid(root, ["profile", "list"], mentions: ["site.yaml:4:45:"])
    }
}
