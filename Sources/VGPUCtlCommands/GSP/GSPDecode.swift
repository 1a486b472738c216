import ArgumentParser
import Foundation
import GSPMessaging
import HostKit

extension GSP {
    /// `vgpuctl gsp decode FILE`.
    struct Decode: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decode a GspMem dump: both queues' headers and every pending message.")

        @Argument(help: ArgumentHelp("The shared file (run/vgpuctl/gsp/<BDF>/gspmem) or a memory dump of GspMem.", valueName: "FILE"))
        var file: String

        @OptionGroup var output: OutputOptions

        func run() throws {
            guard let data = FileManager.default.contents(atPath: file) else {
                let exists = FileManager.default.fileExists(atPath: file)
                throw VGPUError.invalid(exists ? "cannot read \(file)" : "\(file) does not exist")
            }
            let dump = try GspMemDump.decode([UInt8](data), name: file)
            if output.json { try printJSON(dump); return }
            print(GSPText.dump(dump, file: file))
        }
    }
}
