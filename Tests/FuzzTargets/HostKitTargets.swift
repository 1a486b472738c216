import HostKit
import NVGraceEGM
import Reconcile

extension FuzzTargets {
    /// Config space from sysfs `config` (a device's firmware writes it): every decoder, and the
    /// invariants of the capability walks.
    static func configSpace(_ bytes: [UInt8]) {
        let c = ConfigSpace(bytes)
        let caps = c.capabilities
        let ext = c.extendedCapabilities
        precondition(caps.allSatisfy { $0.offset >= 0x40 && $0.offset < 0x100 })
        precondition(ext.allSatisfy { $0.offset >= 0x100 && $0.offset < 0x1000 })
        precondition(Set(ext.map(\.offset)).count == ext.count, "extended walk visited an offset twice")
        _ = c.sriov.map { sr in precondition(sr.vfBARs.allSatisfy { $0.index < 6 }) }
        _ = c.deviceSerialNumber
        _ = c.dvsecs
        _ = NVIDIADVSEC.hasMIGHardwareBug(c)
        _ = c.pcieDevicePortType
        _ = c.headerType
    }

    /// Kernel uevent datagrams (`NETLINK_KOBJECT_UEVENT`).
    static func uevent(_ bytes: [UInt8]) {
        if let e = Uevent.parse(bytes) {
            precondition(!e.action.isEmpty && !e.devpath.isEmpty)
            _ = e.pciAddress
        }
    }

    /// The text formats of sysfs files.
    static func sysfs(_ bytes: [UInt8]) {
        let t = String(decoding: bytes, as: UTF8.self)
        _ = SysfsParse.hex(t)
        _ = SysfsParse.int(t)
        _ = SysfsParse.driverOverride(t)
        for r in SysfsParse.resources(t) { _ = r.size }
        _ = PCIAddress(t)
    }

    /// `EGM_RETIRED_PAGES_LIST` replies: the decoder, and the argsz protocol against a "kernel"
    /// that answers every call with the fuzzer's bytes (a buggy or hostile driver).
    static func egmRetiredPages(_ bytes: [UInt8]) {
        let d = EGMRetiredPagesList.decode(bytes)
        precondition(d.pages.count <= Int(d.count))
        _ = try? EGMRetiredPagesList.query { buf in
            let n = min(buf.count, bytes.count)
            for i in 0..<n { buf[i] = bytes[i] }
            return 0
        }
    }

    /// Host config files (YAML, both formats).
    static func hostConfig(_ bytes: [UInt8]) {
        let t = String(decoding: bytes, as: UTF8.self)
        do { _ = try HostConfigParser.parse(t, file: "fuzz.yaml") } catch {
            precondition(
                error.status == .invalidInput && error.message.hasPrefix("fuzz.yaml"),
                "error without its file: \(error.message)")
        }
    }
}
