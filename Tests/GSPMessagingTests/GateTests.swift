import Foundation
import GSPMessaging
import HostKit
import TestSupport
import Testing

/// Upstream's vGPU gate (the vGPU series since "[PATCH v2 4/7]"): each of the three conditions
/// refuses a boot with its own message and starts nothing; a clean boot succeeds on each
/// simulated GPU model that supports vGPU.
@Suite(.serialized) struct GateTests {
    /// Each simulated model with SR-IOV (the ones that support vGPU): host model and PF.
    static let vgpuModels = [("h100x8", "0000:18:00.0"), ("mixed", "0000:01:00.0")]

    @Test(arguments: vgpuModels)
    func cleanBootSucceeds(_ model: String, _ pf: String) throws {
        let root = try TestSupport.simHost(model)
        defer { stopStub(root, pf) }
        let r = try TestSupport.vgpuctl(["--root", root.path, "gsp", "boot", pf, "--json"])
        try #require(r.status == 0, "\(model): \(r.stderr)")
        let report = try JSONDecoder().decode(VGPUBootReport.self, from: Data(r.stdout.utf8))
        #expect(report.vgpu && report.staticInfo.sriov.sriovEnabled)
        #expect(
            report.gate?.architecture == .hopper && report.gate?.fspVGPUMode == true
                && (report.gate?.totalVFs ?? 0) >= 2)
        let status = try TestSupport.vgpuctl(["--root", root.path, "gsp", "status", pf])
        #expect(status.stdout.contains("VGPU MODE") && status.stdout.contains("enabled"), "\(status.stdout)")
    }

    /// `gsp status` shows what the running firmware booted with (VGPU) next to the vGPU-mode
    /// setting as it is now; a setting changed after the boot is marked for the next boot.
    @Test func statusShowsTheBootedModeApartFromTheSetting() throws {
        let root = try TestSupport.simHost("h100x8")
        defer { stopStub(root) }
        let boot = try TestSupport.vgpuctl(["--root", root.path, "gsp", "boot", h100PF])
        try #require(boot.status == 0, "\(boot.stderr)")
        let set = try TestSupport.vgpuctl(["--root", root.path, "sim", "vgpu-mode", h100PF, "disable"])
        try #require(set.status == 0, "\(set.stderr)")
        let json = try TestSupport.vgpuctl(["--root", root.path, "gsp", "status", h100PF, "--json"])
        let all = try JSONDecoder().decode([GSPStubStatus].self, from: Data(json.stdout.utf8))
        #expect(all.count == 1 && all.first?.vgpu == true && all.first?.vgpuMode == "disabled", "\(json.stdout)")
        let table = try TestSupport.vgpuctl(["--root", root.path, "gsp", "status", h100PF])
        // Columns are separated by two or more spaces; a cell has single spaces at most.
        let lines = table.stdout.split(separator: "\n").map {
            $0.components(separatedBy: "  ").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        try #require(lines.count == 2 && lines[0].count == lines[1].count, "\(table.stdout)")
        let header = lines[0]
        let row = lines[1]
        let vgpu = try #require(header.firstIndex(of: "VGPU"), "\(table.stdout)")
        #expect(row[vgpu] == "on", "\(table.stdout)")
        #expect(table.stdout.contains("disabled (next boot)"), "\(table.stdout)")
        // Booted again, the firmware follows the setting: vGPU off is refused by the gate, so
        // boot with --vgpu off and the marks agree.
        stopStub(root)
        let off = try TestSupport.vgpuctl(["--root", root.path, "gsp", "boot", h100PF, "--vgpu", "off"])
        try #require(off.status == 0, "\(off.stderr)")
        let again = try TestSupport.vgpuctl(["--root", root.path, "gsp", "status", h100PF, "--json"])
        let now = try JSONDecoder().decode([GSPStubStatus].self, from: Data(again.stdout.utf8))
        #expect(now.first?.vgpu == false && now.first?.vgpuMode == "disabled", "\(again.stdout)")
        let table2 = try TestSupport.vgpuctl(["--root", root.path, "gsp", "status", h100PF])
        #expect(!table2.stdout.contains("next boot"), "\(table2.stdout)")
    }

    /// The config file of `pf` with `patch` applied (a simulated GPU whose config space says so).
    static func patchConfig(_ root: HostRoot, _ pf: String, _ patch: (inout [UInt8], _ sriov: Int) -> Void) throws {
        let path = root.url("sys/bus/pci/devices/\(pf)/config")
        var b = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var off = 0x100
        var sriov = 0
        while off >= 0x100, off + 4 <= b.count {
            let h = b.le32(off)
            if h & 0xFFFF == 0x10 {
                sriov = off
                break
            }
            off = Int(h >> 20)
            if off == 0 { break }
        }
        try #require(sriov != 0, "no SR-IOV capability in \(path)")
        patch(&b, sriov)
        try Data(b).write(to: URL(fileURLWithPath: path))
    }

    static func refused(_ root: HostRoot, _ pf: String) throws -> TestSupport.Result {
        let r = try TestSupport.vgpuctl(["--root", root.path, "gsp", "boot", pf])
        #expect(SimulatedGSP.all(root: root).isEmpty, "a refused boot left a stub record")
        return r
    }

    @Test func disabledFirmwareVGPUModeRefusesUntilEnabled() throws {
        let root = try TestSupport.simHost("h100x8")
        defer { stopStub(root) }
        let set = try TestSupport.vgpuctl(["--root", root.path, "sim", "vgpu-mode", h100PF, "disable"])
        #expect(
            set.status == 0 && set.stdout.contains("vGPU mode disabled (FSP PRC knob 0x29)"),
            "\(set.stdout + set.stderr)")
        let profiles = try TestSupport.vgpuctl(["--root", root.path, "profile", "list", h100PF])
        #expect(profiles.stdout.contains("firmware vGPU mode disabled"), "\(profiles.stdout + profiles.stderr)")
        let r = try Self.refused(root, h100PF)
        #expect(r.status == 1)
        #expect(
            r.stderr.contains("FSP PRC knob 0x29) is disabled") && r.stderr.contains("--query-vgpu-mode")
                && r.stderr.contains("--set-vgpu-mode"), "\(r.stderr)")
        #expect(
            !r.stderr.contains("TotalVFs") && !r.stderr.contains("chip cannot"),
            "only the failing condition is named: \(r.stderr)")
        // Without vGPU the GPU still boots; with the knob enabled, vGPU boots.
        let off = try TestSupport.vgpuctl(["--root", root.path, "gsp", "boot", h100PF, "--vgpu", "off"])
        #expect(off.status == 0, "\(off.stderr)")
        stopStub(root)
        #expect(try TestSupport.vgpuctl(["--root", root.path, "sim", "vgpu-mode", h100PF, "enable"]).status == 0)
        let on = try TestSupport.vgpuctl(["--root", root.path, "gsp", "boot", h100PF])
        #expect(on.status == 0, "\(on.stderr)")
    }

    @Test func fewerThanTwoVFsRefuses() throws {
        let root = try TestSupport.simHost("h100x8")
        defer { stopStub(root) }
        try Self.patchConfig(root, h100PF) { b, sriov in b.put16(sriov + 0x0E, 1) }  // TotalVFs = 1
        let r = try Self.refused(root, h100PF)
        #expect(r.status == 1)
        #expect(r.stderr.contains("reports TotalVFs 1") && r.stderr.contains("at least 2"), "\(r.stderr)")
        #expect(
            !r.stderr.contains("knob") && !r.stderr.contains("chip cannot"),
            "only the failing condition is named: \(r.stderr)")
    }

    @Test func chipWithoutVGPURefuses() throws {
        let root = try TestSupport.simHost("h100x8")
        defer { stopStub(root) }
        try Self.patchConfig(root, h100PF) { b, _ in b.put16(2, 0x20B5) }  // an A100 80GB PCIe: Ampere
        let r = try Self.refused(root, h100PF)
        #expect(r.status == 1)
        #expect(
            r.stderr.contains("an Ampere GPU (device 0x20b5)") && r.stderr.contains("Ada and Blackwell only"),
            "\(r.stderr)")
        #expect(
            !r.stderr.contains("knob") && !r.stderr.contains("TotalVFs"),
            "only the failing condition is named: \(r.stderr)")
    }

    @Test func architectureTable() {
        #expect(GPUArchitecture.of(deviceID: 0x2330) == .hopper)
        #expect(GPUArchitecture.of(deviceID: 0x2941) == .blackwell)
        #expect(GPUArchitecture.of(deviceID: 0x2684) == .ada)
        #expect(GPUArchitecture.of(deviceID: 0x2230) == .ampere)
        #expect(GPUArchitecture.of(deviceID: 0x1EB8) == .turing)
        #expect(
            GPUArchitecture.ada.vgpuGate.allowed && GPUArchitecture.blackwell.vgpuGate.allowed
                && !GPUArchitecture.ampere.vgpuGate.allowed)
    }
}
