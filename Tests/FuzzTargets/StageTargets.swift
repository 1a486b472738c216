import GSPMessaging
import HostKit
import VGPUTypes
import VirtualFunctions

extension FuzzTargets {
    /// A GSP queue element and RPC header as firmware writes them, with the checks a receiver
    /// makes (`problem`), and the checksum over the bytes.
    static func gspElement(_ bytes: [UInt8]) {
        guard bytes.count >= ElementHeader.size + RPCHeader.size else { return }
        _ = ElementHeader(decoding: bytes)
        let rpc = RPCHeader(decoding: bytes, at: ElementHeader.size)
        _ = rpc.problem()
    }

    /// `gsp decode` input: a whole GspMem dump (the shared file, or a memory dump of one). Odd
    /// inputs decode as they are (truncated dumps); even ones are zero-padded to a whole GspMem,
    /// so the fuzzer's bytes reach the queue headers and the first ring pages of a full dump.
    static func gspDecode(_ bytes: [UInt8]) {
        var input = bytes
        let whole = GspMemLayout.gspQueueOffset + GspMemLayout.queueSize
        if bytes.count % 2 == 0 && bytes.count < whole { input += [UInt8](repeating: 0, count: whole - bytes.count) }
        do { _ = try GspMemDump.decode(input, name: "fuzz") } catch {
            precondition(error.status == .invalidInput, "decode failed with \(error.status): \(error.message)")
        }
    }

    /// `gsp decode --firmware r000_00` input: a ring dump of MCTP/NVDM elements. A rejection
    /// must name its byte offset.
    static func gmcDecode(_ bytes: [UInt8]) {
        do {
            for (_, e) in try GMCQueueDump.decode(bytes) { _ = e.summary }
        } catch {
            precondition(
                error.offset >= 0 && error.offset < max(bytes.count, 1), "rejection outside the input: \(error)")
        }
    }

    /// NVIDIA vendor sysfs: `creatable_vgpu_types` and `current_vgpu_type` as the driver prints them.
    static func creatableTypes(_ bytes: [UInt8]) {
        let t = String(decoding: bytes, as: UTF8.self)
        if let types = VendorSysfsFormat.creatable(t) { for x in types { _ = VGPUNames.profileName(x.name) } }
        _ = VendorSysfsFormat.currentType(t)
        _ = VendorSysfsFormat.optionalNumber(t)
    }

    /// mdev type files: `description`, `available_instances`, type directory names.
    static func mdevType(_ bytes: [UInt8]) {
        let t = String(decoding: bytes, as: UTF8.self)
        _ = MdevFormat.description(t)?.value("framebuffer")
        _ = MdevFormat.availableInstances(t)
        _ = MdevFormat.typeID(t)
    }

    /// vGPU profile files (operators' files under etc/vgpuctl/profiles).
    static func profile(_ bytes: [UInt8]) {
        let t = String(decoding: bytes, as: UTF8.self)
        do { _ = try VGPUCatalogParser.parse(t, file: "fuzz.yaml") } catch {
            precondition(error.message.contains("fuzz.yaml"), "error without its file: \(error.message)")
        }
    }
}
