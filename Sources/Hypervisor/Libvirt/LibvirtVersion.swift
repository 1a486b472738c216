import Foundation
import HostKit

/// A libvirt release, `major.minor[.micro]`, and what vgpuctl's XML depends on it for.
public struct LibvirtVersion: Sendable, Comparable, CustomStringConvertible, Encodable {
    public var major: Int
    public var minor: Int
    public var micro: Int

    public init(_ major: Int, _ minor: Int, _ micro: Int = 0) {
        self.major = major
        self.minor = minor
        self.micro = micro
    }

    /// Parses `11.8`, `11.3.0`.
    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (2...3).contains(parts.count),
            parts.allSatisfy({ !$0.isEmpty && $0.count <= 4 && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
            let ma = Int(parts[0]), let mi = Int(parts[1])
        else { return nil }
        self.init(ma, mi, parts.count == 3 ? Int(parts[2]) ?? 0 : 0)
    }

    /// libvirt 11.8.0 (2025-10-01): `<acpi nodeset='...'/>` inside a PCI `<hostdev>` makes
    /// libvirt create the `acpi-generic-initiator` objects itself (qemu-libvirt.md).
    public static let hostdevACPINodeset = LibvirtVersion(11, 8)

    /// The version in `virsh --version` ("11.3.0") or `libvirtd --version`
    /// ("libvirtd (libvirt) 11.3.0") output: the last word that parses.
    public static func fromVersionOutput(_ text: String) -> LibvirtVersion? {
        let line = text.split(separator: "\n").first.map(String.init) ?? ""
        return line.split(separator: " ").reversed().lazy.compactMap { LibvirtVersion(String($0)) }.first
    }

    /// Asks the libvirt installed here: `virsh --version`, else `libvirtd --version`, found on
    /// `path` (the caller's `PATH`). Returns the version and the program asked, or nil when neither is installed.
    public static func detect(
        path: String?,
        runner: any CommandRunner = ProcessRunner()
    ) throws(HypervisorError) -> (version: LibvirtVersion, program: String)? {
        let search = (path ?? "/usr/local/bin:/usr/bin:/bin") + ":/usr/sbin:/sbin"
        for name in ["virsh", "libvirtd"] {
            guard let p = QEMUCapabilities.locate(name, path: search) else { continue }
            let r = try runner.run(p, ["--version"])
            guard r.status == 0, let v = fromVersionOutput(r.stdout) else {
                throw .failed(
                    .libvirtVersion,
                    "\(p) --version printed '\((r.stdout + r.stderr).prefix(120))' (exit \(r.status)), not a libvirt version; pass --libvirt-version X.Y"
                )
            }
            return (v, p)
        }
        return nil
    }

    public var description: String { "\(major).\(minor).\(micro)" }

    public static func < (a: LibvirtVersion, b: LibvirtVersion) -> Bool {
        (a.major, a.minor, a.micro) < (b.major, b.minor, b.micro)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
