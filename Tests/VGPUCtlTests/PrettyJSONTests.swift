import Foundation
import Testing

@testable import VGPUCtlCommands

/// `PrettyJSON` prints what Foundation's `JSONEncoder` prints with `--json`'s formatting, byte
/// for byte, and leaves to it what it cannot write.
@Suite struct PrettyJSONTests {
    static func foundation<T: Encodable>(_ value: T) throws -> [UInt8] {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try enc.encode(value))
    }

    static func expectSame<T: Encodable>(_ value: T, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let ours = try PrettyJSON.encode(value)
        let theirs = try foundation(value)
        #expect(
            ours == theirs,
            "PrettyJSON:\n\(String(decoding: ours, as: UTF8.self))\nJSONEncoder:\n\(String(decoding: theirs, as: UTF8.self))",
            sourceLocation: sourceLocation)
        // What --json prints, in pieces of any size: the same bytes and the newline.
        for chunk in [1, 7, 64, 1 << 16] {
            let pieces = try printed(value, chunk: chunk)
            #expect(Array(pieces.joined()) == theirs + [10], "chunk \(chunk)", sourceLocation: sourceLocation)
            #expect(
                pieces.dropLast(2).allSatisfy { $0.count >= chunk }, "chunk \(chunk): a piece handed over early",
                sourceLocation: sourceLocation)
        }
    }

    /// The pieces `printJSON` hands to its output.
    static func printed<T: Encodable>(_ value: T, chunk: Int) throws -> [[UInt8]] {
        var pieces: [[UInt8]] = []
        try printJSON(value, chunk: chunk) { pieces.append($0) }
        return pieces
    }

    struct Inner: Encodable {
        var name: String
        var note: String?
        var tags: [String]
    }

    struct Outer: Encodable {
        var Zeta = 1
        var alpha: Int8 = -128
        var beta: UInt64 = .max
        var gamma: Int = .min
        var flag = true
        var nothing: String? = nil
        var empty: [Int] = []
        var emptyObject: [String: Int] = [:]
        var inner = Inner(name: "a/b \"q\" \\ é ✓ 🚀", note: nil, tags: ["x", "", "\u{7f}"])
        var inners = [Inner(name: "1", note: "n", tags: []), Inner(name: "2", note: nil, tags: ["t"])]
        var byName: [String: [Int]] = ["b": [1, 2], "B": [], "a": [3], "a0": [], "a10": [4], "a9": [5]]
        var byNumber: [Int: String] = [10: "ten", 9: "nine"]
        var nested: [[String?]] = [[nil, "z"], []]
    }

    /// Written by hand: one call encodes a value's keys, a second adds its own to the same
    /// object (as `list`'s entries do).
    struct TwoPart: Encodable {
        enum A: String, CodingKey { case address, vendorID }
        enum B: String, CodingKey { case vgpuType, openBy, sriov }
        enum S: String, CodingKey { case totalVFs }
        func encode(to encoder: any Encoder) throws {
            var a = encoder.container(keyedBy: A.self)
            try a.encode("0000:01:00.0", forKey: .address)
            try a.encode(UInt16(0x10de), forKey: .vendorID)
            var b = encoder.container(keyedBy: B.self)
            try b.encodeNil(forKey: .vgpuType)
            var u = b.nestedUnkeyedContainer(forKey: .openBy)
            try u.encode(3)
            var s = b.nestedContainer(keyedBy: S.self, forKey: .sriov)
            try s.encode(16, forKey: .totalVFs)
        }
    }

    /// A key encoded twice, in one container and across two: the last value is printed.
    struct Twice: Encodable {
        enum K: String, CodingKey { case a, b }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: K.self)
            try c.encode("first", forKey: .b)
            try c.encode(1, forKey: .a)
            try c.encode("second", forKey: .b)
            var d = encoder.container(keyedBy: K.self)
            try d.encode(2, forKey: .a)
        }
    }

    @Test func objectsArraysStringsAndIntegersAreTheSameBytes() throws {
        try Self.expectSame(Twice())
        #expect(
            String(decoding: try PrettyJSON.encode(Twice()), as: UTF8.self)
                == "{\n  \"a\" : 2,\n  \"b\" : \"second\"\n}")
        try Self.expectSame(Outer())
        try Self.expectSame([Outer(), Outer()])
        try Self.expectSame(TwoPart())
        try Self.expectSame([TwoPart()])
        try Self.expectSame(["top", "level"])
        try Self.expectSame([String]())
        try Self.expectSame("a fragment")
        try Self.expectSame(42)
        try Self.expectSame(Optional<Int>.none)
    }

    /// Every byte below 0x80 in a key and in a value, and a sample of others.
    @Test func everyASCIIByteIsEscapedAsJSONEncoderEscapesIt() throws {
        var all: [String: String] = [:]
        for b in 0..<128 {
            let s = String(UnicodeScalar(UInt8(b)))
            all["k\(s)"] = "v\(s)v"
        }
        all["unicode"] = "Ünïcødé \u{2028} \u{feff} 日本"
        try Self.expectSame(all)
    }

    @Test func whatItCannotWriteIsLeftToJSONEncoder() throws {
        struct WithDouble: Encodable { var ratio = 0.1 }
        struct WithDate: Encodable { var when = Date(timeIntervalSince1970: 0) }
        struct WithURL: Encodable { var url = URL(fileURLWithPath: "/tmp") }
        struct Silent: Encodable { func encode(to encoder: any Encoder) throws {} }
        #expect(throws: PrettyJSON.Unsupported.self) { try PrettyJSON.encode(WithDouble()) }
        #expect(throws: PrettyJSON.Unsupported.self) { try PrettyJSON.encode(WithDate()) }
        #expect(throws: PrettyJSON.Unsupported.self) { try PrettyJSON.encode(WithURL()) }
        #expect(throws: PrettyJSON.Unsupported.self) { try PrettyJSON.encode([Silent()]) }
        // What --json prints for them is JSONEncoder's, in one piece: nothing of PrettyJSON's
        // reaches the output before it knows it can write the whole value, even when the value
        // it cannot write comes last and the pieces are one byte.
        #expect(try Self.printed(WithDouble(), chunk: 1) == [(try Self.foundation(WithDouble())) + [10]])
        #expect(try Self.printed(WithURL(), chunk: 1) == [(try Self.foundation(WithURL())) + [10]])
        struct LateSilent: Encodable {
            var names = Array(repeating: "a longer name than one piece", count: 50)
            var zz = Silent()
        }
        #expect(throws: PrettyJSON.Unsupported.self) { try PrettyJSON.encode(LateSilent()) }
        #expect(try Self.printed(LateSilent(), chunk: 1) == [(try Self.foundation(LateSilent())) + [10]])
    }
}
