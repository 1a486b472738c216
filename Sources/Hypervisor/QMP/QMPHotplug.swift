import Foundation
import HostKit

/// A VFIO device in a running VM, from `qom-list`/`qom-get` and `query-pci`.
public struct VMDevice: Sendable, Encodable, Equatable {
    /// The qdev id (nil for a device added without one).
    public var id: String?
    /// `vfio-pci` or `vfio-pci-nohotplug`.
    public var driver: String
    /// The host device (`host=`), when set.
    public var host: String?
    /// The mdev or sysfs path (`sysfsdev=`), when set.
    public var sysfsdev: String?
    /// Guest address `BB:SS.F` (hex), when `query-pci` lists it.
    public var guestAddress: String?
    /// Vendor and device id the guest sees (lower-case hex).
    public var vendorID: String?
    public var deviceID: String?
}

/// Hot-plug of host devices into a running VM over QMP: `device_add`, `device_del` and the wait
/// for `DEVICE_DELETED`, and the list of VFIO devices.
public struct QMPHotplug {
    public let client: QMPClient

    public init(client: QMPClient) { self.client = client }

    static let vfioDrivers: Set<String> = ["vfio-pci", "vfio-pci-nohotplug"]

    /// The VM's user-created devices: qdev id (nil for anonymous ones) -> QOM path and type.
    public func peripherals() throws(HypervisorError) -> [(id: String?, path: String, type: String)] {
        var out: [(String?, String, String)] = []
        for (dir, named) in [("/machine/peripheral", true), ("/machine/peripheral-anon", false)] {
            guard case .success(let list) = try client.execute("qom-list", ["path": .string(dir)]) else { continue }
            for p in list.arrayValue ?? [] {
                guard let name = p["name"]?.stringValue, let t = p["type"]?.stringValue,
                    t.hasPrefix("child<"), t.hasSuffix(">")
                else { continue }
                out.append((named ? name : nil, "\(dir)/\(name)", String(t.dropFirst(6).dropLast())))
            }
        }
        return out
    }

    /// Every PCI function `query-pci` lists (bridges walked), by qdev id.
    public func pciFunctions() throws(HypervisorError) -> [String: (
        bus: Int64, slot: Int64, function: Int64, vendor: Int64?, device: Int64?
    )] {
        var out: [String: (Int64, Int64, Int64, Int64?, Int64?)] = [:]
        func walk(_ devices: [JSONValue]) {
            for d in devices {
                if let id = d["qdev_id"]?.stringValue, !id.isEmpty {
                    out[id] = (
                        d["bus"]?.intValue ?? 0, d["slot"]?.intValue ?? 0, d["function"]?.intValue ?? 0,
                        d["id"]?["vendor"]?.intValue, d["id"]?["device"]?.intValue
                    )
                }
                if let sub = d["pci_bridge"]?["devices"]?.arrayValue { walk(sub) }
            }
        }
        for bus in try client.run("query-pci").arrayValue ?? [] { walk(bus["devices"]?.arrayValue ?? []) }
        return out
    }

    /// The VFIO devices of the VM.
    public func list() throws(HypervisorError) -> [VMDevice] {
        let pci = try pciFunctions()
        var out: [VMDevice] = []
        for p in try peripherals() where Self.vfioDrivers.contains(p.type) {
            var d = VMDevice(id: p.id, driver: p.type)
            d.host = try property(p.path, "host").flatMap { $0.isEmpty ? nil : $0 }
            d.sysfsdev = try property(p.path, "sysfsdev").flatMap { $0.isEmpty ? nil : $0 }
            if let id = p.id, let f = pci[id] {
                d.guestAddress = hex(UInt64(f.bus), 2) + ":" + hex(UInt64(f.slot), 2) + "." + String(f.function)
                d.vendorID = f.vendor.map { hex(UInt64($0), 4) }
                d.deviceID = f.device.map { hex(UInt64($0), 4) }
            }
            out.append(d)
        }
        return out.sorted { ($0.id ?? "~") < ($1.id ?? "~") }
    }

    /// A string property of a QOM object, nil when it has none.
    func property(_ path: String, _ name: String) throws(HypervisorError) -> String? {
        guard case .success(let v) = try client.execute("qom-get", ["path": .string(path), "property": .string(name)])
        else { return nil }
        return v.stringValue
    }

    /// Adds `device` to the VM as `id`; exit 2 when the id is taken, exit 1 with QEMU's error
    /// class and description when QEMU refuses.
    public func attach(_ device: AssignedDevice, id: String, bus: String?, addr: String?) throws(HypervisorError)
        -> VMDevice
    {
        guard QEMUDeviceID.isValid(id) else {
            throw .invalid(.hotplug, "'\(id)' is not a QEMU device id (a letter, then letters, digits, '-', '.', '_')")
        }
        if let bus, !QEMUDeviceID.isValid(bus) { throw .invalid(.hotplug, "--bus '\(bus)' is not a QEMU bus id") }
        if try peripherals().contains(where: { $0.id == id }) {
            throw .invalid(.hotplug, "the VM already has a device with id \(id); pass another --id, or detach it first")
        }
        var args: [String: JSONValue] = ["driver": .string("vfio-pci"), "id": .string(id)]
        switch device.source {
        case .pci(let a): args["host"] = .string(a.description)
        case .mdev(_, let path, _, _): args["sysfsdev"] = .string(path)
        }
        if let bus { args["bus"] = .string(bus) }
        if let addr { args["addr"] = .string(addr) }
        switch try client.execute("device_add", args) {
        case .success: break
        case .failure(let e):
            throw .failed(.hotplug, "QEMU refused device_add of \(device.name) as \(id): \(e.errorClass): \(e.desc)")
        }
        return try list().first { $0.id == id }
            ?? VMDevice(id: id, driver: "vfio-pci", host: device.address?.description)
    }

    /// The outcome of a detach.
    public struct Detached: Sendable, Encodable {
        public var id: String
        public var host: String?
        public var sysfsdev: String?
    }

    /// Asks QEMU to remove device `id` and waits for `DEVICE_DELETED`: success only then. On
    /// timeout the device stays in the VM (and assigned on the host) and the error says the
    /// guest did not release it. Exit 2 when the VM has no such device.
    public func detach(id: String, timeout: Duration) throws(HypervisorError) -> Detached {
        guard let p = try peripherals().first(where: { $0.id == id }) else {
            throw .invalid(
                .hotplug,
                "the VM has no device with id \(id); 'vgpuctl qmp list --socket \(client.transport.peer)' shows the VFIO devices and their ids"
            )
        }
        let host = try property(p.path, "host").flatMap { $0.isEmpty ? nil : $0 }
        let sysfsdev = try property(p.path, "sysfsdev").flatMap { $0.isEmpty ? nil : $0 }
        switch try client.execute("device_del", ["id": .string(id)]) {
        case .success: break
        case .failure(let e): throw .failed(.hotplug, "QEMU refused device_del of \(id): \(e.errorClass): \(e.desc)")
        }
        let deleted = try client.waitForEvent(timeout: timeout) { ev in
            ev["event"]?.stringValue == "DEVICE_DELETED"
                && (ev["data"]?["device"]?.stringValue == id || ev["data"]?["path"]?.stringValue == p.path)
        }
        guard deleted != nil else {
            let what = host.map { "\(id) (host \($0))" } ?? id
            throw .failed(
                .hotplug,
                "the guest did not release \(what) within \(QMPClient.seconds(timeout)): QEMU asked the guest OS to unplug it and got no answer (the guest may not be running, may not support hot-unplug, or may be using the device); it stays in the VM and assigned on the host, and QEMU keeps the request pending"
            )
        }
        return Detached(id: id, host: host, sysfsdev: sysfsdev)
    }
}
