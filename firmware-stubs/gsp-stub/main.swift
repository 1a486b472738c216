// gsp-stub: plays GSP-RM (firmware r570.144, or the development r000_00) for a GPU model over the shared file vgpuctl
// prepares (stage 1 of the vGPU plan; see ROADMAP.md and StubOptions.swift).
import Foundation
import GPUModels
import GSPMessaging

let options: StubOptions
do {
    options = try StubOptions.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    FileHandle.standardError.write(Data("gsp-stub: \(error.message)\n".utf8))
    exit(2)
}
let spec: DeviceSpec
do { spec = try Models.loadGPU(options.model, from: Models.directory(override: StubEnvironment.current.models)) } catch
{
    FileHandle.standardError.write(Data("gsp-stub: \(error.message)\n".utf8))
    exit(2)
}
let mapping: SharedMapping
do { mapping = try SharedMapping.open(path: options.sharedFile) } catch {
    FileHandle.standardError.write(Data("gsp-stub: \(error.message)\n".utf8))
    exit(2)
}
guard ControlPage(mapping).isInitialized else {
    FileHandle.standardError.write(
        Data(
            "gsp-stub: \(options.sharedFile) has no vgpuctl simulation page; it must be prepared by 'vgpuctl gsp boot'\n"
                .utf8))
    exit(2)
}
if options.firmware == .r000_00 {
    StubGMCFirmware(options: options, spec: spec, mapping: mapping).run()
}
StubFirmware(options: options, spec: spec, mapping: mapping).run()
