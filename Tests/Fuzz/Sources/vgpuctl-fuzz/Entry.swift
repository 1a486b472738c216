import CFuzzDriver
import Foundation
import FuzzTargets

/// The target named by `VGPUCTL_FUZZ_TARGET` (this executable is the fuzz run's edge; the
/// FuzzTargets library reads no environment).
let selectedTarget = ProcessInfo.processInfo.environment["VGPUCTL_FUZZ_TARGET"] ?? ""

/// One input through the target chosen by `VGPUCTL_FUZZ_TARGET` (see `FuzzTargets.all`).
@_cdecl("LLVMFuzzerTestOneInput")
public func vgpuctlFuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    FuzzTargets.run(selectedTarget, bytes)
    return 0
}

/// SwiftPM aliases `main` to `<module>_main` for executables; libFuzzer's own main is not
/// linked, so start its driver here.
@_cdecl("vgpuctl_fuzz_main")
public func vgpuctlFuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var c = argc
    var v = argv
    return LLVMFuzzerRunDriver(&c, &v) { data, size in vgpuctlFuzzOne(data, size) }
}
