import Foundation
import HostKit

/// Deterministic mdev UUIDs: a name-based UUID (RFC 9562 version 5, SHA-1) over vgpuctl's
/// namespace and `<PF>/<VF index>/<type>`, so a device recreated for the same VF and type keeps
/// its identity (and a VM's XML that names it stays valid).
public enum MdevUUID {
    /// vgpuctl's namespace for mdev UUIDs: the version-5 UUID of the name `vgpuctl mdev` in
    /// RFC 9562's URL namespace (6ba7b811-9dad-11d1-80b4-00c04fd430c8).
    public static let namespace = v5(namespace: urlNamespace, name: "vgpuctl mdev")

    /// RFC 9562's URL namespace.
    public static let urlNamespace: [UInt8] = [
        0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1,
        0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8,
    ]

    /// The UUID of the mdev for VF `index` of `pf` with type `type` (a profile name), lower-case.
    public static func uuid(pf: PCIAddress, vfIndex index: Int, type: String) -> String {
        text(v5(namespace: namespace, name: "\(pf)/\(index)/\(type)"))
    }

    /// A version-5 UUID: SHA-1 of namespace bytes + name, version nibble 5, RFC 4122 variant.
    public static func v5(namespace: [UInt8], name: String) -> [UInt8] {
        var h = Array(SHA1.hash(namespace + Array(name.utf8)).prefix(16))
        h[6] = (h[6] & 0x0f) | 0x50
        h[8] = (h[8] & 0x3f) | 0x80
        return h
    }

    /// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, lower-case.
    public static func text(_ b: [UInt8]) -> String {
        let h = b.map { hex($0, 2) }
        return [h[0..<4], h[4..<6], h[6..<8], h[8..<10], h[10..<16]].map { $0.joined() }.joined(separator: "-")
    }

    /// Whether `s` is a UUID in the 8-4-4-4-12 hex form.
    public static func isUUID(_ s: String) -> Bool {
        let parts = s.split(separator: "-", omittingEmptySubsequences: false)
        return parts.map(\.count) == [8, 4, 4, 4, 12] && parts.allSatisfy { $0.allSatisfy(\.isHexDigit) }
    }
}

/// SHA-1 (FIPS 180-4), only for name-based UUIDs: Foundation on Linux has no digest API.
enum SHA1 {
    static func hash(_ message: [UInt8]) -> [UInt8] {
        var h: [UInt32] = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0]
        var m = message
        let bitLength = UInt64(message.count) * 8
        m.append(0x80)
        while m.count % 64 != 56 { m.append(0) }
        for i in (0..<8).reversed() { m.append(UInt8(truncatingIfNeeded: bitLength >> (UInt64(i) * 8))) }
        var w = [UInt32](repeating: 0, count: 80)
        for chunk in stride(from: 0, to: m.count, by: 64) {
            for i in 0..<16 {
                let j = chunk + i * 4
                w[i] = UInt32(m[j]) << 24 | UInt32(m[j + 1]) << 16 | UInt32(m[j + 2]) << 8 | UInt32(m[j + 3])
            }
            for i in 16..<80 { w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1) }
            var (a, b, c, d, e) = (h[0], h[1], h[2], h[3], h[4])
            for i in 0..<80 {
                let (f, k): (UInt32, UInt32)
                switch i {
                case 0..<20: (f, k) = ((b & c) | (~b & d), 0x5A82_7999)
                case 20..<40: (f, k) = (b ^ c ^ d, 0x6ED9_EBA1)
                case 40..<60: (f, k) = ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC)
                default: (f, k) = (b ^ c ^ d, 0xCA62_C1D6)
                }
                let t = rotl(a, 5) &+ f &+ e &+ k &+ w[i]
                (e, d, c, b, a) = (d, c, rotl(b, 30), a, t)
            }
            h[0] = h[0] &+ a
            h[1] = h[1] &+ b
            h[2] = h[2] &+ c
            h[3] = h[3] &+ d
            h[4] = h[4] &+ e
        }
        return h.flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v >> (24 - UInt32($0) * 8)) } }
    }

    static func rotl(_ x: UInt32, _ n: UInt32) -> UInt32 { x << n | x >> (32 - n) }
}
