/// One registry key GSP-RM reads at boot (`NVreg_RegistryDwords` style: a name and a DWORD).
public struct RegistryEntry: Codable, Equatable, Sendable, CustomStringConvertible {
    public var key: String
    public var value: UInt32
    /// `REGISTRY_TABLE_ENTRY_TYPE_*` (1 DWORD, 2 BINARY, 3 STRING). Only DWORDs are sent.
    public var type: UInt8 = 1

    public init(_ key: String, _ value: UInt32) {
        self.key = key
        self.value = value
    }

    public var description: String { "\(key)=\(value)" }

    /// Parses `KEY=VALUE` (decimal or 0x hex) as given on the command line.
    public static func parse(_ text: String) -> RegistryEntry? {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" })
        else { return nil }
        let v = parts[1].lowercased()
        let value = v.hasPrefix("0x") ? UInt32(v.dropFirst(2), radix: 16) : UInt32(v)
        return value.map { RegistryEntry(parts[0], $0) }
    }
}

/// The payload of `SET_REGISTRY` (`PACKED_REGISTRY_TABLE`).
///
/// ```
/// 0x00  u32 size         whole table: header, entries and strings
/// 0x04  u32 numEntries
/// 0x08  PACKED_REGISTRY_ENTRY[numEntries], 16 bytes each:
///         u32 nameOffset (from the table start), u8 type, 3 bytes pad, u32 data, u32 length
/// ....  the NUL-terminated key names, in entry order
/// ```
/// `size` and `length` follow open-gpu-kernel-modules' `RmPackageRegistry`: the total size
/// including the 8-byte header, and `length = sizeof(NvU32)` for DWORD entries. (nova-core
/// sends `size` without the header and `length = 0`; GSP-RM accepts both.)
public struct RegistryTable: Codable, Equatable, Sendable {
    public static let headerSize = 8
    public static let entrySize = 16

    public var entries: [RegistryEntry]

    public init(_ entries: [RegistryEntry]) { self.entries = entries }

    /// The keys nova-core always sets, plus `RMSetSriovMode=1` for a vGPU boot (RFC "gpu:
    /// nova-core: Enable booting GSP with vGPU enabled"), then `extra` (which replaces a
    /// standard key of the same name).
    public static func standard(vgpu: Bool, extra: [RegistryEntry] = []) -> RegistryTable {
        var e = [
            RegistryEntry("RMSecBusResetEnable", 1),
            RegistryEntry("RMForcePcieConfigSave", 1),
            RegistryEntry("RMDevidCheckIgnore", 1),
        ]
        if vgpu { e.append(RegistryEntry("RMSetSriovMode", 1)) }
        for x in extra {
            if let i = e.firstIndex(where: { $0.key == x.key }) { e[i] = x } else { e.append(x) }
        }
        return RegistryTable(e)
    }

    /// The value of `key`, when present.
    public subscript(key: String) -> UInt32? { entries.first { $0.key == key }?.value }

    /// The encoded table.
    public var encoded: [UInt8] {
        let stringsStart = Self.headerSize + Self.entrySize * entries.count
        let total = stringsStart + entries.reduce(0) { $0 + $1.key.utf8.count + 1 }
        var b = [UInt8](repeating: 0, count: total)
        b.put32(0, UInt32(total))
        b.put32(4, UInt32(entries.count))
        var name = stringsStart
        for (i, e) in entries.enumerated() {
            let at = Self.headerSize + Self.entrySize * i
            b.put32(at, UInt32(name))
            b[at + 4] = 1
            b.put32(at + 8, e.value)
            b.put32(at + 12, 4)
            b.putBytes(name, Array(e.key.utf8))
            name += e.key.utf8.count + 1
        }
        return b
    }

    /// Decodes and checks a table as GSP-RM would: `size` equal to the payload length, entries
    /// inside it, names inside it and NUL-terminated. The error names the offset.
    public init(decoding b: [UInt8]) throws(VGPUPayloadError) {
        guard b.count >= Self.headerSize else {
            throw VGPUPayloadError(offset: 0, "registry table is \(b.count) bytes, shorter than its 8-byte header")
        }
        let size = Int(b.le32(0))
        let count = Int(b.le32(4))
        guard size == b.count else {
            throw VGPUPayloadError(
                offset: 0, "registry table size field is \(size) but the payload is \(b.count) bytes")
        }
        guard count <= (b.count - Self.headerSize) / Self.entrySize else {
            throw VGPUPayloadError(
                offset: 4, "registry table claims \(count) entries, more than fit in \(b.count) bytes")
        }
        var out: [RegistryEntry] = []
        for i in 0..<count {
            let at = Self.headerSize + Self.entrySize * i
            let nameOffset = Int(b.le32(at))
            guard nameOffset >= Self.headerSize + Self.entrySize * count, nameOffset < b.count,
                let nul = b[nameOffset...].firstIndex(of: 0)
            else {
                throw VGPUPayloadError(
                    offset: at,
                    "registry entry \(i): name offset \(hex0x(nameOffset)) is not a NUL-terminated string inside the table"
                )
            }
            var e = RegistryEntry(String(decoding: b[nameOffset..<nul], as: UTF8.self), b.le32(at + 8))
            e.type = b[at + 4]
            out.append(e)
        }
        entries = out
    }
}

/// A payload that does not decode: the offset in the payload and what is wrong.
public struct VGPUPayloadError: Error, Sendable, CustomStringConvertible {
    public var offset: Int
    public var message: String
    public init(offset: Int, _ message: String) {
        self.offset = offset
        self.message = message
    }
    public var description: String { "at payload offset \(hex0x(offset)): \(message)" }
}
