import Foundation
import TestSupport
import Testing

/// `VGPUCTL_MODELS` names another copy of the GPU models (the benchmarks make one with a
/// generated 64-GPU host). Since the vGPU catalogs moved to `Sources/VGPUTypes`, such a copy
/// has no `vgpu/` folder: typing VFs must still find the bundled catalogs, and a copy that does
/// carry `vgpu/` must be the one read.
@Suite struct ModelsOverrideTests {
    /// A copy of `firmware-stubs/models` without its Swift sources (as Benchmarks/run.py makes).
    static func modelsCopy() throws -> String {
        let dst = TestSupport.tempDir("models-copy") + "/models"
        let src = TestSupport.repositoryDirectory + "/firmware-stubs/models"
        let r = try TestSupport.run("/bin/cp", ["-r", src, dst])
        #expect(r.status == 0, "\(r.stderr)")
        try FileManager.default.removeItem(atPath: dst + "/Models.swift")
        return dst
    }

    static func typedPlan(models: String) throws -> TestSupport.Result {
        let host = TestSupport.tempDir("models-copy-host") + "/host"
        let env = ["VGPUCTL_MODELS": models]
        let created = try TestSupport.vgpuctl(
            ["sim", "create", host, "--model", "h100x8", "--vgpu-interface", "vendor"], environment: env)
        #expect(created.status == 0, "\(created.stderr)")
        let cfg = TestSupport.tempDir("models-copy-cfg") + "/host.yaml"
        try
            "version: 1\nconfigs:\n  a:\n    - select: all\n      mode: vgpu\n      vfs: 32\n      types: {H100XM-4C: 20}\n"
            .write(toFile: cfg, atomically: true, encoding: .utf8)
        return try TestSupport.vgpuctl(["--root", host, "plan", "-f", cfg], environment: env)
    }

    @Test func aModelsCopyWithoutCatalogsStillTypesVFs() throws {
        let r = try Self.typedPlan(models: try Self.modelsCopy())
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("[types] give 0000:18:00.4 vGPU type H100XM-4C"), "\(r.stdout)")
        #expect(!r.stderr.contains("offers no vGPU interface"), "\(r.stderr)")
    }

    @Test func aModelsCopyWithCatalogsIsTheOneRead() throws {
        let models = try Self.modelsCopy()
        let vgpu = models + "/vgpu"
        try FileManager.default.createDirectory(atPath: vgpu, withIntermediateDirectories: true)
        let bundled = TestSupport.repositoryDirectory + "/Sources/VGPUTypes/vgpu/h100xm.yaml"
        // The copy's H100 catalog lacks H100XM-4C: the plan must refuse that type.
        let text = try String(contentsOfFile: bundled, encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.contains("name: H100XM-4C,") }.joined(separator: "\n")
        try text.write(toFile: vgpu + "/h100xm.yaml", atomically: true, encoding: .utf8)
        let r = try Self.typedPlan(models: models)
        #expect(r.status != 0, "\(r.stdout)")
        #expect(r.stderr.contains("H100XM-4C"), "\(r.stderr)")
    }
}
