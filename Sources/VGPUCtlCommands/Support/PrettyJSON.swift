import Foundation

/// The JSON every `--json` prints, written without Foundation's `JSONEncoder` when the value
/// holds only what it can write byte for byte as that encoder does on Linux with
/// `[.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]`: objects, arrays, strings, integers,
/// booleans and null. Keys are sorted by their UTF-8 bytes, two spaces indent each level, a key
/// is followed by ` : `, an empty array prints as `[`, a blank line and `]`, and a string escapes
/// `"`, `\`, `\b`, `\f`, `\n`, `\r`, `\t` and other control bytes as `\u00xx`.
///
/// Anything else (a floating-point number, `Date`, `Data`, `URL`, `Decimal`, a value that
/// encodes nothing) makes ``encode(_:)`` throw ``Unsupported``, and ``printJSON(_:)`` then uses
/// `JSONEncoder` itself. Why: `list --all --json` spent a fifth of its user time in
/// `JSONEncoder`, mostly in dynamic casts and protocol-conformance lookups (issue #20).
/// `PrettyJSONTests` compares the two encoders' bytes.
enum PrettyJSON {
    struct Unsupported: Error {}

    /// The bytes `JSONEncoder` would give for `value`, or ``Unsupported``.
    static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let root = try Node.encoding(value, path: [])
        var w = Writer()
        try w.write(root, indent: 0)
        return w.bytes
    }

    /// The same bytes handed to `sink` in pieces of about `chunk` bytes, so the whole output is
    /// never held at once (a 64x32 `list --all --json` is 1.5 MB). The tree is checked first:
    /// ``Unsupported`` is thrown before `sink` has seen a byte.
    static func write<T: Encodable>(_ value: T, chunk: Int = 1 << 16, to sink: ([UInt8]) -> Void) throws {
        let root = try Node.encoding(value, path: [])
        try Writer.check(root)
        var w = Writer()
        w.chunk = chunk
        try w.write(root, indent: 0, sink: sink)
        if !w.bytes.isEmpty { sink(w.bytes) }
    }

    /// A value in the tree: a scalar held in place, or a container.
    enum Value {
        case scalar(Node.Scalar)
        case node(Node)
    }

    /// A container of the tree being encoded (or a value a single-value container set).
    /// Containers write into it after they are handed out, so it is a reference; scalars are not
    /// nodes of their own, which keeps the tree small. An object keeps its keys in the order
    /// they were encoded: the writer sorts them, and a key encoded twice keeps its last value.
    final class Node {
        var scalar: Scalar?
        var object: [(key: String, value: Value)]?
        var array: [Value]?

        enum Scalar {
            case null
            case bool(Bool)
            case number(String)
            case string(String)
        }

        /// `value` encoded: a scalar, or a new node.
        static func encoding<T: Encodable>(_ value: T, path: [any CodingKey]) throws -> Value {
            if let s = try scalar(value) { return .scalar(s) }
            let n = Node()
            try value.encode(to: TreeEncoder(node: n, codingPath: path))
            return .node(n)
        }

        /// The scalar `value` is, nil when it is a composite, ``Unsupported`` for a type whose
        /// JSON `JSONEncoder` writes its own way.
        static func scalar<T: Encodable>(_ value: T) throws -> Scalar? {
            // Type identity first: a failing dynamic cast looks up conformances, a cast to the
            // type the value has does not.
            let t = T.self
            if t == String.self, let v = value as? String { return .string(v) }
            if t == Bool.self, let v = value as? Bool { return .bool(v) }
            if t == Int.self, let v = value as? Int { return .number(String(v)) }
            if t == UInt64.self, let v = value as? UInt64 { return .number(String(v)) }
            if t == Int64.self, let v = value as? Int64 { return .number(String(v)) }
            if t == UInt32.self, let v = value as? UInt32 { return .number(String(v)) }
            if t == Int32.self, let v = value as? Int32 { return .number(String(v)) }
            if t == UInt16.self, let v = value as? UInt16 { return .number(String(v)) }
            if t == Int16.self, let v = value as? Int16 { return .number(String(v)) }
            if t == UInt8.self, let v = value as? UInt8 { return .number(String(v)) }
            if t == Int8.self, let v = value as? Int8 { return .number(String(v)) }
            if t == UInt.self, let v = value as? UInt { return .number(String(v)) }
            if t == Double.self || t == Float.self || t == Date.self || t == Data.self || t == URL.self
                || t == Decimal.self
            {
                throw Unsupported()
            }
            return nil
        }
    }

    struct TreeEncoder: Encoder {
        let node: Node
        var codingPath: [any CodingKey]
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
            if node.object == nil { node.object = [] }
            return KeyedEncodingContainer(Keyed<Key>(node: node, codingPath: codingPath))
        }

        func unkeyedContainer() -> any UnkeyedEncodingContainer {
            if node.array == nil { node.array = [] }
            return Unkeyed(node: node, codingPath: codingPath)
        }

        func singleValueContainer() -> any SingleValueEncodingContainer {
            Single(node: node, codingPath: codingPath)
        }
    }

    struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let node: Node
        var codingPath: [any CodingKey]

        func put(_ v: Value, _ key: Key) { node.object?.append((key.stringValue, v)) }

        mutating func encodeNil(forKey key: Key) throws { put(.scalar(.null), key) }
        mutating func encode(_ value: Bool, forKey key: Key) throws { put(.scalar(.bool(value)), key) }
        mutating func encode(_ value: String, forKey key: Key) throws { put(.scalar(.string(value)), key) }
        mutating func encode(_ value: Double, forKey key: Key) throws { throw Unsupported() }
        mutating func encode(_ value: Float, forKey key: Key) throws { throw Unsupported() }
        mutating func encode(_ value: Int, forKey key: Key) throws { put(.scalar(.number(String(value))), key) }
        mutating func encode(_ value: Int8, forKey key: Key) throws { put(.scalar(.number(String(value))), key) }
        mutating func encode(_ value: Int16, forKey key: Key) throws { put(.scalar(.number(String(value))), key) }
        mutating func encode(_ value: Int32, forKey key: Key) throws { put(.scalar(.number(String(value))), key) }
        mutating func encode(_ value: Int64, forKey key: Key) throws { put(.scalar(.number(String(value))), key) }
        mutating func encode(_ value: UInt, forKey key: Key) throws { put(.scalar(.number(String(value))), key) }
        mutating func encode(_ value: UInt8, forKey key: Key) throws { put(.scalar(.number(String(value))), key) }
        mutating func encode(_ value: UInt16, forKey key: Key) throws { put(.scalar(.number(String(value))), key) }
        mutating func encode(_ value: UInt32, forKey key: Key) throws { put(.scalar(.number(String(value))), key) }
        mutating func encode(_ value: UInt64, forKey key: Key) throws { put(.scalar(.number(String(value))), key) }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            put(try Node.encoding(value, path: codingPath + [key]), key)
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
            -> KeyedEncodingContainer<NestedKey>
        {
            let n = Node()
            put(.node(n), key)
            return TreeEncoder(node: n, codingPath: codingPath + [key]).container(keyedBy: keyType)
        }

        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            let n = Node()
            put(.node(n), key)
            return TreeEncoder(node: n, codingPath: codingPath + [key]).unkeyedContainer()
        }

        mutating func superEncoder() -> any Encoder {
            let n = Node()
            node.object?.append(("super", .node(n)))
            return TreeEncoder(node: n, codingPath: codingPath)
        }

        mutating func superEncoder(forKey key: Key) -> any Encoder {
            let n = Node()
            put(.node(n), key)
            return TreeEncoder(node: n, codingPath: codingPath + [key])
        }
    }

    struct Unkeyed: UnkeyedEncodingContainer {
        let node: Node
        var codingPath: [any CodingKey]
        var count: Int { node.array?.count ?? 0 }

        func add(_ v: Value) { node.array?.append(v) }

        mutating func encodeNil() throws { add(.scalar(.null)) }
        mutating func encode(_ value: Bool) throws { add(.scalar(.bool(value))) }
        mutating func encode(_ value: String) throws { add(.scalar(.string(value))) }
        mutating func encode(_ value: Double) throws { throw Unsupported() }
        mutating func encode(_ value: Float) throws { throw Unsupported() }
        mutating func encode(_ value: Int) throws { add(.scalar(.number(String(value)))) }
        mutating func encode(_ value: Int8) throws { add(.scalar(.number(String(value)))) }
        mutating func encode(_ value: Int16) throws { add(.scalar(.number(String(value)))) }
        mutating func encode(_ value: Int32) throws { add(.scalar(.number(String(value)))) }
        mutating func encode(_ value: Int64) throws { add(.scalar(.number(String(value)))) }
        mutating func encode(_ value: UInt) throws { add(.scalar(.number(String(value)))) }
        mutating func encode(_ value: UInt8) throws { add(.scalar(.number(String(value)))) }
        mutating func encode(_ value: UInt16) throws { add(.scalar(.number(String(value)))) }
        mutating func encode(_ value: UInt32) throws { add(.scalar(.number(String(value)))) }
        mutating func encode(_ value: UInt64) throws { add(.scalar(.number(String(value)))) }
        mutating func encode<T: Encodable>(_ value: T) throws { add(try Node.encoding(value, path: codingPath)) }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type)
            -> KeyedEncodingContainer<NestedKey>
        {
            let n = Node()
            add(.node(n))
            return TreeEncoder(node: n, codingPath: codingPath).container(keyedBy: keyType)
        }

        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            let n = Node()
            add(.node(n))
            return TreeEncoder(node: n, codingPath: codingPath).unkeyedContainer()
        }

        mutating func superEncoder() -> any Encoder {
            let n = Node()
            add(.node(n))
            return TreeEncoder(node: n, codingPath: codingPath)
        }
    }

    struct Single: SingleValueEncodingContainer {
        let node: Node
        var codingPath: [any CodingKey]

        func set(_ s: Node.Scalar) { node.scalar = s }

        mutating func encodeNil() throws { set(.null) }
        mutating func encode(_ value: Bool) throws { set(.bool(value)) }
        mutating func encode(_ value: String) throws { set(.string(value)) }
        mutating func encode(_ value: Double) throws { throw Unsupported() }
        mutating func encode(_ value: Float) throws { throw Unsupported() }
        mutating func encode(_ value: Int) throws { set(.number(String(value))) }
        mutating func encode(_ value: Int8) throws { set(.number(String(value))) }
        mutating func encode(_ value: Int16) throws { set(.number(String(value))) }
        mutating func encode(_ value: Int32) throws { set(.number(String(value))) }
        mutating func encode(_ value: Int64) throws { set(.number(String(value))) }
        mutating func encode(_ value: UInt) throws { set(.number(String(value))) }
        mutating func encode(_ value: UInt8) throws { set(.number(String(value))) }
        mutating func encode(_ value: UInt16) throws { set(.number(String(value))) }
        mutating func encode(_ value: UInt32) throws { set(.number(String(value))) }
        mutating func encode(_ value: UInt64) throws { set(.number(String(value))) }
        mutating func encode<T: Encodable>(_ value: T) throws {
            switch try Node.encoding(value, path: codingPath) {
            case .scalar(let s):
                node.scalar = s
            case .node(let n):
                node.scalar = n.scalar
                node.object = n.object
                node.array = n.array
            }
        }
    }

    /// The pretty printer.
    struct Writer {
        var bytes: [UInt8] = []
        /// With a sink: hand the bytes over once this many have gathered.
        var chunk = Int.max

        /// The entries of `object` that are written, in the order written: sorted by key, and a
        /// key encoded twice keeps its last value (JSONEncoder keeps a dictionary).
        static func written(_ object: [(key: String, value: Value)]) -> [Int] {
            let order = object.indices.sorted { a, b in
                object[a].key == object[b].key
                    ? a < b : object[a].key.utf8.lexicographicallyPrecedes(object[b].key.utf8)
            }
            return order.enumerated().filter { i, at in
                !(i + 1 < order.count && object[order[i + 1]].key == object[at].key)
            }.map(\.element)
        }

        /// Throws ``Unsupported`` where ``write(_:indent:sink:)`` would, without writing.
        static func check(_ v: Value) throws {
            if case .node(let n) = v { try check(n) }
        }

        static func check(_ n: Node) throws {
            if let object = n.object, n.array == nil, n.scalar == nil {
                for at in written(object) { if case .node(let c) = object[at].value { try check(c) } }
            } else if let array = n.array, n.object == nil, n.scalar == nil {
                for element in array { if case .node(let c) = element { try check(c) } }
            } else if n.scalar == nil || n.object != nil || n.array != nil {
                throw Unsupported()
            }
        }

        mutating func write(_ v: Value, indent: Int, sink: ([UInt8]) -> Void = { _ in }) throws {
            switch v {
            case .scalar(let s): scalar(s)
            case .node(let n): try write(n, indent: indent, sink: sink)
            }
            if bytes.count >= chunk {
                sink(bytes)
                bytes.removeAll(keepingCapacity: true)
            }
        }

        mutating func write(_ n: Node, indent: Int, sink: ([UInt8]) -> Void = { _ in }) throws {
            if let object = n.object, n.array == nil, n.scalar == nil {
                bytes.append(UInt8(ascii: "{"))
                bytes.append(UInt8(ascii: "\n"))
                var first = true
                for at in Self.written(object) {
                    if !first {
                        bytes.append(UInt8(ascii: ","))
                        bytes.append(UInt8(ascii: "\n"))
                    }
                    first = false
                    pad(indent + 1)
                    string(object[at].key)
                    bytes.append(contentsOf: [UInt8(ascii: " "), UInt8(ascii: ":"), UInt8(ascii: " ")])
                    try write(object[at].value, indent: indent + 1, sink: sink)
                }
                bytes.append(UInt8(ascii: "\n"))
                pad(indent)
                bytes.append(UInt8(ascii: "}"))
            } else if let array = n.array, n.object == nil, n.scalar == nil {
                bytes.append(UInt8(ascii: "["))
                bytes.append(UInt8(ascii: "\n"))
                var first = true
                for element in array {
                    if !first {
                        bytes.append(UInt8(ascii: ","))
                        bytes.append(UInt8(ascii: "\n"))
                    }
                    first = false
                    pad(indent + 1)
                    try write(element, indent: indent + 1, sink: sink)
                }
                bytes.append(UInt8(ascii: "\n"))
                pad(indent)
                bytes.append(UInt8(ascii: "]"))
            } else if let s = n.scalar, n.object == nil, n.array == nil {
                scalar(s)
            } else {
                // Nothing encoded, or two kinds of container for one value: JSONEncoder's call.
                throw Unsupported()
            }
        }

        mutating func scalar(_ s: Node.Scalar) {
            switch s {
            case .null: bytes.append(contentsOf: "null".utf8)
            case .bool(let b): bytes.append(contentsOf: (b ? "true" : "false").utf8)
            case .number(let digits): bytes.append(contentsOf: digits.utf8)
            case .string(let text): string(text)
            }
        }

        mutating func pad(_ level: Int) {
            for _ in 0..<level { bytes.append(contentsOf: [UInt8(ascii: " "), UInt8(ascii: " ")]) }
        }

        mutating func string(_ text: String) {
            bytes.append(UInt8(ascii: "\""))
            for b in text.utf8 {
                switch b {
                case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
                case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
                case 0x08: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
                case 0x0c: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
                case 0x0a: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
                case 0x0d: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
                case 0x09: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
                case 0x00..<0x20:
                    let hex = Array("0123456789abcdef".utf8)
                    bytes.append(contentsOf: [
                        UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                    ])
                    bytes.append(hex[Int(b >> 4)])
                    bytes.append(hex[Int(b & 0xf)])
                default: bytes.append(b)
                }
            }
            bytes.append(UInt8(ascii: "\""))
        }
    }
}
