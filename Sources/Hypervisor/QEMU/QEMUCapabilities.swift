import Foundation
import HostKit

/// A QEMU version, `major.minor[.micro]`.
public struct QEMUVersion: Sendable, Comparable, CustomStringConvertible, Encodable {
    public var major: Int
    public var minor: Int
    public var micro: Int?

    public init(_ major: Int, _ minor: Int, _ micro: Int? = nil) {
        self.major = major
        self.minor = minor
        self.micro = micro
    }

    /// Parses `9.2`, `9.2.0` or `7.2.22`.
    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (2...3).contains(parts.count),
            parts.allSatisfy({ !$0.isEmpty && $0.count <= 4 && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
            let ma = Int(parts[0]), let mi = Int(parts[1])
        else { return nil }
        self.init(ma, mi, parts.count == 3 ? Int(parts[2]) : nil)
    }

    /// The version in `qemu-system-* -version` output ("QEMU emulator version 7.2.22 (Debian ...)").
    public static func fromVersionOutput(_ text: String) -> QEMUVersion? {
        guard let r = text.range(of: "QEMU emulator version ") else { return nil }
        let word = text[r.upperBound...].prefix { $0.isNumber || $0 == "." }
        return QEMUVersion(String(word))
    }

    public var description: String { "\(major).\(minor)" + (micro.map { ".\($0)" } ?? "") }

    public static func < (a: QEMUVersion, b: QEMUVersion) -> Bool {
        (a.major, a.minor, a.micro ?? 0) < (b.major, b.minor, b.micro ?? 0)
    }

    public static func == (a: QEMUVersion, b: QEMUVersion) -> Bool {
        (a.major, a.minor, a.micro ?? 0) == (b.major, b.minor, b.micro ?? 0)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// The QEMU features vgpuctl's arguments can need, and the QEMU release that added each
/// (qemu-libvirt.md, "Feature availability").
public enum QEMUFeature: String, Sendable, CaseIterable, Encodable {
    case vfioPCI = "vfio-pci"
    case vfioPCINoHotplug = "vfio-pci-nohotplug"
    case acpiGenericInitiator = "acpi-generic-initiator"
    case iommufd = "iommufd"
    case memoryBackendFile = "memory-backend-file"
    case jsonDevice = "JSON -device"

    /// The first QEMU release with the feature.
    public var since: QEMUVersion {
        switch self {
        case .vfioPCI: QEMUVersion(1, 3)
        case .vfioPCINoHotplug: QEMUVersion(3, 0)
        case .memoryBackendFile: QEMUVersion(2, 1)
        case .jsonDevice: QEMUVersion(6, 2)
        case .iommufd, .acpiGenericInitiator: QEMUVersion(9, 0)
        }
    }

    /// What the feature is, for messages.
    public var noun: String {
        switch self {
        case .vfioPCI, .vfioPCINoHotplug: "\(rawValue) device"
        case .acpiGenericInitiator, .iommufd, .memoryBackendFile: "\(rawValue) object"
        case .jsonDevice: "JSON syntax for -device"
        }
    }
}

/// What a QEMU can do, asked of the binary (`-version`, `-device help`, `-object help`, a JSON
/// `-device` probe) or, for a QEMU that is not installed here, taken from its version.
public struct QEMUCapabilities: Sendable {
    public enum Source: Sendable, Equatable {
        /// Asked of this binary.
        case binary(String)
        /// A release named with `--qemu-version` (not installed here).
        case version
        /// No QEMU found: only vfio-pci (in every QEMU since 1.3) is taken for granted.
        case none(searched: String)
    }

    public var source: Source
    public var version: QEMUVersion?
    public var deviceTypes: Set<String> = []
    public var objectTypes: Set<String> = []
    public var jsonDevice = false

    public init(
        source: Source, version: QEMUVersion?, deviceTypes: Set<String> = [], objectTypes: Set<String> = [],
        jsonDevice: Bool = false
    ) {
        self.source = source
        self.version = version
        self.deviceTypes = deviceTypes
        self.objectTypes = objectTypes
        self.jsonDevice = jsonDevice
    }

    /// Capabilities of a QEMU release that is not installed (`--qemu-version`).
    public static func planned(_ v: QEMUVersion) -> QEMUCapabilities {
        QEMUCapabilities(source: .version, version: v)
    }

    /// Whether the QEMU has `f`; nil when vgpuctl cannot tell.
    public func supports(_ f: QEMUFeature) -> Bool? {
        switch source {
        case .version:
            return version.map { $0 >= f.since }
        case .none:
            return f == .vfioPCI ? true : nil
        case .binary:
            switch f {
            case .vfioPCI, .vfioPCINoHotplug: return deviceTypes.contains(f.rawValue)
            case .acpiGenericInitiator, .iommufd, .memoryBackendFile: return objectTypes.contains(f.rawValue)
            case .jsonDevice: return jsonDevice
            }
        }
    }

    /// Which QEMU this is, for messages.
    public var subject: String {
        switch source {
        case .binary(let path): "QEMU \(version?.description ?? "(unknown version)") at \(path)"
        case .version: "QEMU \(version?.description ?? "?") (--qemu-version)"
        case .none(let searched): "the QEMU (no \(searched) found)"
        }
    }

    /// Throws exit 1 naming the feature, what needs it and the QEMU release that adds it, when
    /// this QEMU lacks `f` (or vgpuctl cannot tell).
    public func require(_ f: QEMUFeature, for purpose: String) throws(HypervisorError) {
        switch supports(f) {
        case .some(true):
            return
        case .some(false):
            throw .failed(
                .qemuCapability,
                "\(subject) has no \(f.noun), which \(purpose); QEMU \(f.since) adds it: use a QEMU >= \(f.since) (--qemu PATH) or plan for one with --qemu-version"
            )
        case .none:
            guard case .none(let searched) = source else { return }
            throw .failed(
                .qemuCapability,
                "cannot tell whether the QEMU has the \(f.noun), which \(purpose): no \(searched) on PATH; pass --qemu PATH for the QEMU that will run the guest, or --qemu-version X.Y (\(f.rawValue) needs >= \(f.since))"
            )
        }
    }
}

/// Runs a program and returns its exit status and output; a seam so detection can be tested
/// with recorded outputs.
public protocol CommandRunner: Sendable {
    func run(_ executable: String, _ arguments: [String]) throws(HypervisorError) -> (
        status: Int32, stdout: String, stderr: String
    )
}

extension QEMUCapabilities {
    /// The system emulator for this machine's architecture (`qemu-system-x86_64`,
    /// `qemu-system-aarch64` on Grace hosts).
    public static var defaultBinaryName: String {
        var u = utsname()
        uname(&u)
        let machine = withUnsafeBytes(of: &u.machine) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return "qemu-system-" + (machine == "arm64" ? "aarch64" : machine)
    }

    /// Finds `name` (a path, or a name looked up on `path`, the caller's `PATH`); nil when there
    /// is none.
    public static func locate(_ name: String, path: String?) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        for dir in (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let p = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }

    /// The name of the device driver the JSON probe asks for; no QEMU has it.
    static let probeDriver = "vgpuctl-probe-json-device"

    /// Asks the QEMU at `binary` what it supports.
    public static func detect(binary: String, runner: any CommandRunner = ProcessRunner()) throws(HypervisorError)
        -> QEMUCapabilities
    {
        let v = try runner.run(binary, ["-version"])
        guard v.status == 0, let version = QEMUVersion.fromVersionOutput(v.stdout) else {
            let said = (v.stdout + v.stderr).split(separator: "\n").first.map(String.init) ?? "nothing"
            throw .invalid(
                .qemuCapability,
                "\(binary) is not a QEMU system emulator: '-version' printed '\(said.prefix(120))' (exit \(v.status))")
        }
        let devices = try runner.run(binary, ["-device", "help"])
        let objects = try runner.run(binary, ["-object", "help"])
        guard devices.status == 0, objects.status == 0 else {
            throw .failed(
                .qemuCapability,
                "\(binary) (QEMU \(version)) failed to list its devices and objects ('-device help' exit \(devices.status), '-object help' exit \(objects.status))"
            )
        }
        // A QEMU that reads JSON names the driver inside the object in its error; an older one
        // takes the whole text for a driver name.
        let probe = try runner.run(
            binary,
            [
                "-nodefaults", "-machine", "none", "-display", "none",
                "-device", "{\"driver\":\"\(probeDriver)\"}",
            ])
        let json = (probe.stderr + probe.stdout).contains("'\(probeDriver)'")
        return QEMUCapabilities(
            source: .binary(binary), version: version,
            deviceTypes: parseDeviceHelp(devices.stdout + devices.stderr),
            objectTypes: parseObjectHelp(objects.stdout + objects.stderr), jsonDevice: json)
    }

    /// Device names in `-device help` output (`name "vfio-pci", bus PCI, desc "..."`).
    public static func parseDeviceHelp(_ text: String) -> Set<String> {
        var out: Set<String> = []
        for line in text.split(separator: "\n") {
            guard let r = line.range(of: "name \"") else { continue }
            let rest = line[r.upperBound...]
            if let end = rest.firstIndex(of: "\"") { out.insert(String(rest[..<end])) }
        }
        return out
    }

    /// Object type names in `-object help` output (an indented name per line under a heading).
    public static func parseObjectHelp(_ text: String) -> Set<String> {
        var out: Set<String> = []
        for line in text.split(separator: "\n") where line.first == " " || line.first == "\t" {
            if let word = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).first { out.insert(String(word)) }
        }
        return out
    }
}
