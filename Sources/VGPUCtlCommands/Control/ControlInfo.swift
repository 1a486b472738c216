import ArgumentParser
import ControlChannel
import Foundation
import GSPMessaging
import HostKit

extension Control {
    /// `vgpuctl control info DEVICE`.
    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "info",
            abstract:
                "Show the fwctl device of a PCI function: its device type and device data (FWCTL_INFO), or the stub's on a simulated host."
        )

        @Argument(help: ArgumentHelp("A PCI function (a GPU's PF).", valueName: "DEVICE"))
        var device: String

        @OptionGroup var host: HostOptions
        @OptionGroup var output: OutputOptions

        struct Out: Encodable {
            var device: String
            var fwctl: String
            var node: String
            var transport: String
            var simulated: Bool
            var stubPid: Int32?
            var stubStartedForCommand: Bool
            var deviceType: UInt32
            var deviceTypeName: String
            var deviceDataLength: Int
            var deviceData: String
            var novaCore: NovaCoreInfo?
            /// The wire format between the driver and the firmware behind this channel.
            var wireFormat: String = GSPWireFormat.r570_144.rawValue
            /// The command-id set vgpuctl's requests carry (both published sets are named).
            var commandIDs: String = NovaCoreTable.spokenIDSet.rawValue
        }

        func run() throws {
            let env = try host.environment()
            let root = env.root
            let dev = try Control.device(device, root: root, what: "PCI address of the device")
            let ch = try ControlChannels.open(env: env, pci: dev.address)
            defer { ch.client.close() }
            let info: FwctlDeviceInfo
            do { info = try ch.client.info() } catch { throw error.commandError }
            let nova = info.deviceType == .novaCore ? NovaCoreInfo(decoding: info.deviceData) : nil
            let out = Out(
                device: dev.address.description, fwctl: ch.device.name, node: root.url(ch.device.node),
                transport: ch.client.transport.name, simulated: env.simulated, stubPid: ch.stubPid,
                stubStartedForCommand: ch.stubStartedHere, deviceType: info.deviceType.rawValue,
                deviceTypeName: info.deviceType.name, deviceDataLength: info.deviceDataLength,
                deviceData: info.deviceData.map { String(format: "%02x", $0) }.joined(), novaCore: nova,
                wireFormat: (ch.client.transport is GMCStubTransport ? GSPWireFormat.r000_00 : .r570_144).rawValue)
            if output.json {
                try printJSON(out)
                return
            }
            var lines = [
                "\(out.device): \(out.fwctl) (\(out.node))",
                "  transport     \(out.transport)\(env.simulated ? " (simulated host)" : "")",
                "  device type   \(info.deviceType)\(info.deviceType == .novaCore ? ", provisional (published: \(NovaCoreTable.deviceTypeCandidates.map { "\($0.value)" }.joined(separator: " or ")))" : "")",
                "  wire format   \((GSPWireFormat(rawValue: out.wireFormat) ?? .r570_144).summary)\(out.wireFormat == GSPWireFormat.r000_00.rawValue ? "; requests go on the queues as GMCAPI_CMD_* \(NovaCoreTable.CommandIDSet.r000_00.rawValue)" : "")",
                "  command ids   \(NovaCoreTable.spokenIDSet.rawValue) (\(NovaCoreTable.spokenIDSet.source)); the other published set: \(NovaCoreTable.CommandIDSet.r000_00.rawValue) (\(NovaCoreTable.CommandIDSet.r000_00.source))",
                "  device data   \(info.deviceDataLength) bytes\(info.deviceData.isEmpty ? "" : ": " + out.deviceData)",
            ]
            if let n = nova {
                lines.append(
                    "  PCI ids       \(hex(n.vendorID, 4)):\(hex(n.deviceID, 4)), subsystem \(hex(n.subsystemVendorID, 4)):\(hex(n.subsystemID, 4))"
                )
                lines.append("  vGPU          \(n.vgpu ? "enabled (SR-IOV mode), \(n.totalVFs) VFs" : "disabled")")
                lines.append("  firmware      GSP-RM \(n.firmwareVersion)")
            }
            print(lines.joined(separator: "\n"))
        }
    }
}
