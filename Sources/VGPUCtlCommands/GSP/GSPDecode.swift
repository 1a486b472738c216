import ArgumentParser
import Foundation
import GSPMessaging
import HostKit

extension GSP {
    /// `vgpuctl gsp decode FILE`.
    struct Decode: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "decode",
            abstract: "Decode a GspMem dump: both queues' headers and every pending message.",
            discussion:
                "--firmware r570.144 (mainline, the default) decodes a GspMem file; --firmware r000_00 (the development firmware's GMC API format) decodes a queue ring dump: page-aligned MCTP/NVDM elements."
        )

        @Argument(
            help: ArgumentHelp(
                "The shared file (run/vgpuctl/gsp/<BDF>/gspmem) or a memory dump of GspMem.", valueName: "FILE"))
        var file: String

        @Option(name: .long, help: "The wire format: r570.144 or r000_00.")
        var firmware: GSPWireFormat = .r570_144

        @OptionGroup var output: OutputOptions

        func run() throws {
            guard let data = FileManager.default.contents(atPath: file) else {
                let exists = FileManager.default.fileExists(atPath: file)
                throw CommandError.invalid(.badFile, exists ? "cannot read \(file)" : "\(file) does not exist")
            }
            if firmware == .r000_00 {
                let elements: [(page: Int, element: GMCElement)]
                do { elements = try GMCQueueDump.decode([UInt8](data)) } catch {
                    throw CommandError.invalid(.badFile, "\(file): \(error) (decoded as \(firmware.summary))")
                }
                if output.json {
                    struct Row: Encodable {
                        var page: Int
                        var nvdmType: String
                        var command: String?
                        var sequence: UInt64?
                        var word0: UInt32?
                        var word1: UInt32?
                        var payloadBytes: Int
                    }
                    struct Out: Encodable {
                        var format: String
                        var elements: [Row]
                    }
                    try printJSON(
                        Out(
                            format: firmware.rawValue,
                            elements: elements.map {
                                Row(
                                    page: $0.page, nvdmType: $0.element.header.nvdmType?.name ?? "?",
                                    command: $0.element.gmcapi.map { GMCCommandTable.name(of: $0.commandID) }
                                        ?? $0.element.rpc?.function.name,
                                    sequence: $0.element.gmcapi?.sequence, word0: $0.element.gmcapi?.word0,
                                    word1: $0.element.gmcapi?.word1,
                                    payloadBytes: $0.element.payload.count)
                            }))
                    return
                }
                print("\(file): \(firmware.summary), \(elements.count) element(s)")
                for (page, e) in elements { print("  page \(page): \(e.summary)") }
                return
            }
            let dump = try GspMemDump.decode([UInt8](data), name: file)
            if output.json {
                try printJSON(dump)
                return
            }
            print(GSPText.dump(dump, file: file))
        }
    }
}
extension GSPWireFormat: ExpressibleByArgument {}
