import Foundation
import HostKit
import HostSim
import SimGPU
import VirtualFunctions

/// The frame-buffer scrubbers (stage 3), built at the edge like the other parts of the
/// environment: a simulated host's GPU is scrubbed by its simulated vGPU firmware
/// (``SimVGPUDriver``'s pending list and ``SimFrameBuffer``); a real host's driver scrubs by
/// itself and exposes no state vgpuctl could read yet, so it has none.
struct SimulatedScrubber: FrameBufferScrubber {
    let driver: SimVGPUDriver

    func pending(pf: PCIAddress) throws(VirtualFunctionsError) -> [ScrubRegion] {
        do {
            return try driver.pendingScrubs(pf: pf).map {
                ScrubRegion(vf: $0.vf, type: $0.typeName, offsetMiB: $0.offsetMiB, sizeMiB: $0.sizeMiB)
            }
        } catch {
            throw .failed(
                .scrubFailed, "cannot read the simulated firmware's scrub state under \(driver.root.path): \(error)",
                underlying: error)
        }
    }

    func scrub(pf: PCIAddress, vf: Int?, progress: (ScrubProgress) -> Void) throws(VirtualFunctionsError)
        -> [ScrubReport]
    {
        do {
            return try driver.scrub(pf: pf, vf: vf) { progress(ScrubProgress(vf: $0, done: $1, total: $2)) }.map {
                ScrubReport(
                    pf: pf.description,
                    region: ScrubRegion(vf: $0.vf, type: $0.typeName, offsetMiB: $0.offsetMiB, sizeMiB: $0.sizeMiB),
                    bytesZeroed: $0.bytesZeroed)
            }
        } catch {
            throw .failed(
                .scrubFailed,
                "scrubbing the frame buffer of \(pf)\(vf.map { " VF \($0)" } ?? "") failed: \(ErrorChain.message(error)); the VF stays refused until 'vgpuctl recover' scrubs it",
                underlying: error)
        }
    }
}

/// Tests (`VGPUCTL_TEST_CRASH_BEFORE_SCRUB`, ``HostEnvironment/crashBeforeScrub``): ends the
/// process (status 86) when a scrub is about to start, as a crash after the vGPU was removed
/// and before its frame buffer was scrubbed would.
struct CrashingScrubber: FrameBufferScrubber {
    let wrapping: any FrameBufferScrubber

    func pending(pf: PCIAddress) throws(VirtualFunctionsError) -> [ScrubRegion] { try wrapping.pending(pf: pf) }

    func scrub(pf: PCIAddress, vf: Int?, progress: (ScrubProgress) -> Void) throws(VirtualFunctionsError)
        -> [ScrubReport]
    {
        _exit(86)
    }
}

extension HostContext {
    /// The scrubber of each PF's GPU (nil on a real host: its driver scrubs unseen).
    var scrubbers: ScrubberFactory {
        let root = self.root
        let simulated = env.simulated
        let crash = env.crashBeforeScrub
        return { _ in
            guard simulated else { return nil }
            let s = SimulatedScrubber(driver: SimVGPUDriver(root: root))
            return crash ? CrashingScrubber(wrapping: s) : s
        }
    }

    /// Finishes every pending scrub (what `recover` does after an interrupted clear).
    func finishScrubs() throws(VirtualFunctionsError) -> [ScrubReport] {
        guard env.simulated else { return [] }
        let driver = SimVGPUDriver(root: root)
        let s = SimulatedScrubber(driver: driver)
        let state: SimVGPUDriver.State
        do { state = try driver.load() } catch {
            throw .failed(
                .scrubFailed, "cannot read the simulated firmware's state under \(root.path): \(error)",
                underlying: error)
        }
        var out: [ScrubReport] = []
        for (text, rec) in state.pfs.sorted(by: { $0.key < $1.key }) where !(rec.scrubPending ?? []).isEmpty {
            guard let pf = PCIAddress(text) else { continue }
            out += try s.scrub(pf: pf, vf: nil) { _ in }
        }
        return out
    }
}

/// Prints a progress line on stderr (stdout stays the result).
func printProgress(_ message: String) {
    FileHandle.standardError.write(Data(("vgpuctl: " + message + "\n").utf8))
}
