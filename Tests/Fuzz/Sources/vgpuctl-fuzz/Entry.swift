import FuzzTargets

/// libFuzzer's entry point. The target is chosen by `VGPUCTL_FUZZ_TARGET` (see
/// `FuzzTargets.all`); Tests/Fuzz/run.sh sets it per run.
@_cdecl("LLVMFuzzerTestOneInput")
public func vgpuctlFuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    FuzzTargets.run(FuzzTargets.selected, bytes)
    return 0
}
