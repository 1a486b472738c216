import Foundation

/// Someone using a PCI function: a process holding one of its files, NVIDIA's own daemon, or a
/// kernel user (a mounted block device, an interface that is up). Found by `DeviceUsage`.
public struct DeviceUser: Sendable, Hashable, Encodable, CustomStringConvertible {
    public enum Kind: String, Sendable, Encodable {
        /// A process with an open file on the device or a mapping of one of its BARs.
        case process
        /// `nvidia-persistenced`, which holds every GPU open to keep it initialised.
        case nvidiaDaemon = "nvidia-daemon"
        /// The kernel itself: a mounted or stacked block device, a network interface that is up.
        case kernel
    }

    public enum Certainty: String, Sendable, Encodable {
        /// It holds a file of this very function.
        case certain
        /// It holds only driver-wide nodes (`/dev/nvidiactl`, `/dev/nvidia-uvm`, the MIG
        /// config/monitor caps): it may be using this GPU or another one.
        case possible
    }

    public var kind: Kind
    public var certainty: Certainty
    /// The process, nil for a kernel user.
    public var pid: Int?
    /// `proc/<pid>/comm`, or for a kernel user what uses it (`mount`, `dm-0`, `eth0`).
    public var command: String
    /// What it holds, as the host sees it: `/dev/nvidia0`, `/sys/devices/.../resource0`,
    /// `/dev/nvme0n1p1`, or an interface name.
    public var file: String
    /// How it holds it: `open`, `mapped`, `mounted at /srv`, `held by dm-0`, `up`.
    public var how: String
    /// What the operator can do about it.
    public var advice: String

    public init(kind: Kind, certainty: Certainty, pid: Int?, command: String, file: String, how: String, advice: String)
    {
        self.kind = kind
        self.certainty = certainty
        self.pid = pid
        self.command = command
        self.file = file
        self.how = how
        self.advice = advice
    }

    /// One line: "pid 987 (python3) holds /dev/nvidia0 open; stop it ...".
    public var description: String {
        let who = pid.map { "pid \($0) (\(command))" } ?? command
        let verb: String
        switch how {
        case "open": verb = "holds \(file) open"
        case "mapped": verb = "maps \(file)"
        default: verb = "\(file) \(how)"
        }
        let lead = kind == .kernel ? "the kernel: \(verb) (\(who))" : "\(who) \(verb)"
        return certainty == .possible ? "\(lead) and may be using a GPU; \(advice)" : "\(lead); \(advice)"
    }

    /// Users that certainly use the function (the ones a change is refused for).
    public static func certain(_ users: [DeviceUser]) -> [DeviceUser] { users.filter { $0.certainty == .certain } }

    /// The refusal every command that unbinds, rebinds or resets `device` gives (exit 4), naming
    /// each certain user; nil when there is none.
    /// `forceOverrides`: whether the command's --force would override this refusal (say so).
    public static func refusal(
        _ device: String, _ users: [DeviceUser], doing action: String, forceOverrides: Bool = true
    ) -> VGPUError? {
        let sure = certain(users)
        guard !sure.isEmpty else { return nil }
        let list = sure.map(\.description).joined(separator: "; ")
        return .refused(
            .inUse,
            "\(device) is in use: \(list); \(action) would take it away"
                + (forceOverrides ? "; pass --force to do it anyway" : ""))
    }
}
