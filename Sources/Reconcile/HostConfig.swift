import HostKit

/// The desired state of a host, per GPU: one named config of a host config file.
///
/// Two formats are read (see ``HostConfigParser``): vgpuctl's own (`version: 1`, `configs:`)
/// and NVIDIA vgpu-device-manager's (`version: v1`, `vgpu-configs:`), as operators have them.
public struct HostConfig: Sendable, Equatable {
    /// The file it came from, for messages.
    public var file: String
    /// The config's name in the file.
    public var name: String
    /// Rules in file order: a GPU takes the first rule that selects it.
    public var rules: [Rule]

    public init(file: String, name: String, rules: [Rule]) {
        self.file = file
        self.name = name
        self.rules = rules
    }

    /// Which devices a rule applies to.
    public enum Selector: Sendable, Equatable, CustomStringConvertible {
        /// One function by address.
        case address(PCIAddress)
        /// Every device with this vendor and device id.
        case deviceID(vendor: UInt16, device: UInt16)
        /// The device whose Device Serial Number (config space DSN, or the vendor's sysfs) is this.
        case serial(UInt64)
        /// Every NVIDIA GPU.
        case all
        /// GPUs by index among the NVIDIA GPUs in address order (vgpu-device-manager's `devices: [0, 1]`),
        /// optionally narrowed by device id (`device-filter`).
        case indices([Int], filter: [(vendor: UInt16, device: UInt16)])

        public static func == (a: Selector, b: Selector) -> Bool { a.description == b.description }

        public var description: String {
            switch self {
            case .address(let a): "address \(a)"
            case .deviceID(let v, let d): "device \(hex(v, 4)):\(hex(d, 4))"
            case .serial(let s): "serial \(hex(s, 16))"
            case .all: "all"
            case .indices(let i, let f):
                "devices \(i.map(String.init).joined(separator: ","))"
                    + (f.isEmpty
                        ? ""
                        : " filtered by " + f.map { "\(hex($0.vendor, 4)):\(hex($0.device, 4))" }.joined(separator: ","))
            }
        }
    }

    /// What a selected GPU should be.
    public enum Mode: Sendable, Equatable {
        /// Whole-device passthrough: bound to its VFIO driver, no VFs.
        case passthrough
        /// SR-IOV VFs, some with vGPU types.
        case vgpu(VGPUSpec)
        /// Left to the host driver: not bound to VFIO by vgpuctl, no VFs.
        case host
    }

    /// VF count and types for `mode: vgpu`.
    public struct VGPUSpec: Sendable, Equatable {
        /// Number of VFs; nil means as many as the types need.
        public var vfs: Int?
        /// Type name -> instances, each optionally for a named guest (nil: any guest).
        public var types: [TypeRequest]
        /// Bind untyped VFs to vfio-pci (generic SR-IOV hand-off).
        public var vfioHandoff: Bool
        /// Untyped VFs for named guests (`guests: {vm-a: 1}`), given after the typed ones.
        public var guestVFs: [GuestVFs] = []

        public init(vfs: Int?, types: [TypeRequest], vfioHandoff: Bool) {
            self.vfs = vfs
            self.types = types
            self.vfioHandoff = vfioHandoff
        }

        /// The VF count the spec needs.
        public var vfCount: Int { vfs ?? (types.reduce(0) { $0 + $1.count } + guestVFs.reduce(0) { $0 + $1.count }) }
    }

    /// `count` untyped VFs for `guest`.
    public struct GuestVFs: Sendable, Equatable {
        public var guest: String
        public var count: Int
        public init(guest: String, count: Int) {
            self.guest = guest
            self.count = count
        }
    }

    /// Every guest the config names, with how many VFs it gives each (typed and untyped).
    public var guests: [String: Int] {
        var out: [String: Int] = [:]
        for r in rules {
            guard case .vgpu(let spec) = r.mode else { continue }
            for t in spec.types { if let g = t.guest { out[g, default: 0] += t.count } }
            for g in spec.guestVFs { out[g.guest, default: 0] += g.count }
        }
        return out
    }

    /// `count` VFs of type `type`, for `guest` when named.
    public struct TypeRequest: Sendable, Equatable {
        public var type: String
        public var count: Int
        public var guest: String?
        public init(type: String, count: Int, guest: String? = nil) {
            self.type = type
            self.count = count
            self.guest = guest
        }
    }

    /// One selector and its mode, with where it was written.
    public struct Rule: Sendable, Equatable {
        public var selector: Selector
        public var mode: Mode
        /// `file:line:column` of the rule.
        public var location: String
        /// `file:line:column` of the rule's values, so that a wrong one is reported where it is
        /// written: `select`, `mode`, `vfs`, `types`, `type:NAME`, `index:N` (the Nth index of a
        /// vgpu-device-manager `devices:` list).
        public var places: [String: String]
        public init(selector: Selector, mode: Mode, location: String, places: [String: String] = [:]) {
            self.selector = selector
            self.mode = mode
            self.location = location
            self.places = places
        }

        /// Where the value `key` is written (the rule's place when it is not).
        public func at(_ key: String) -> String { places[key] ?? location }
    }
}
