/// A small, strict XML reader for the domain XML libvirt hands its hooks: elements, attributes,
/// text, comments, CDATA, processing instructions and the five predefined entities plus
/// character references. A DOCTYPE is refused (libvirt never writes one, and it would bring
/// entity definitions). Errors name the line and column.
public struct XMLTree: Sendable {
    public struct Element: Sendable, Equatable {
        public var name: String
        public var attributes: [String: String]
        public var children: [Element]
        public var text: String

        /// Child elements named `name`.
        public func children(_ name: String) -> [Element] { children.filter { $0.name == name } }
        /// The first child element named `name`.
        public func child(_ name: String) -> Element? { children.first { $0.name == name } }
    }

    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var line: Int
        public var column: Int
        public var reason: String
        public var description: String { "line \(line), column \(column): \(reason)" }

        public init(line: Int, column: Int, reason: String) {
            self.line = line
            self.column = column
            self.reason = reason
        }
    }

    public var root: Element

    /// Parses `text` as one XML document.
    public static func parse(_ text: String) throws(ParseError) -> XMLTree {
        var p = Parser(Array(text.unicodeScalars))
        return XMLTree(root: try p.document())
    }

    struct Parser {
        let s: [Unicode.Scalar]
        var i = 0
        /// Elements deeper than this are refused (no legitimate domain XML comes close).
        static let maxDepth = 64

        init(_ s: [Unicode.Scalar]) { self.s = s }

        func error(_ reason: String, at pos: Int? = nil) -> ParseError {
            let end = min(pos ?? i, s.count)
            var line = 1
            var col = 1
            for c in s[0..<end] {
                if c == "\n" {
                    line += 1
                    col = 1
                } else {
                    col += 1
                }
            }
            return ParseError(line: line, column: col, reason: reason)
        }

        func peek(_ lit: String) -> Bool {
            var j = i
            for c in lit.unicodeScalars {
                guard j < s.count, s[j] == c else { return false }
                j += 1
            }
            return true
        }

        mutating func expect(_ lit: String) throws(ParseError) {
            guard peek(lit) else { throw error("expected '\(lit)'") }
            i += lit.unicodeScalars.count
        }

        mutating func skipSpace() { while i < s.count, Self.isSpace(s[i]) { i += 1 } }
        static func isSpace(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\t" || c == "\n" || c == "\r" }
        static func isNameStart(_ c: Unicode.Scalar) -> Bool {
            ("a"..."z").contains(c) || ("A"..."Z").contains(c) || c == "_" || c == ":" || c.value >= 0xC0
        }
        static func isName(_ c: Unicode.Scalar) -> Bool {
            isNameStart(c) || ("0"..."9").contains(c) || c == "-" || c == "." || c.value == 0xB7
        }

        /// Skips `<?...?>` and `<!--...-->`; false when neither is next.
        mutating func skipMisc() throws(ParseError) -> Bool {
            if peek("<?") {
                let start = i
                while i < s.count, !peek("?>") { i += 1 }
                guard i < s.count else { throw error("unterminated processing instruction", at: start) }
                i += 2
                return true
            }
            if peek("<!--") {
                let start = i
                i += 4
                while i < s.count, !peek("-->") {
                    if peek("--") { throw error("'--' inside a comment") }
                    i += 1
                }
                guard i < s.count else { throw error("unterminated comment", at: start) }
                i += 3
                return true
            }
            return false
        }

        mutating func document() throws(ParseError) -> Element {
            if i < s.count, s[i] == "\u{FEFF}" { i += 1 }
            while true {
                skipSpace()
                if try !skipMisc() { break }
            }
            if peek("<!DOCTYPE") { throw error("a DOCTYPE is not allowed in domain XML") }
            guard peek("<") else {
                throw error(i >= s.count ? "no XML element (empty input)" : "expected '<' at the start of the document")
            }
            let root = try element(depth: 0)
            while true {
                skipSpace()
                if try !skipMisc() { break }
            }
            guard i == s.count else { throw error("text after the root element </\(root.name)>") }
            return root
        }

        mutating func name() throws(ParseError) -> String {
            guard i < s.count, Self.isNameStart(s[i]) else { throw error("expected a name") }
            var out = String.UnicodeScalarView()
            while i < s.count, Self.isName(s[i]) {
                out.append(s[i])
                i += 1
            }
            return String(out)
        }

        mutating func element(depth: Int) throws(ParseError) -> Element {
            guard depth < Self.maxDepth else { throw error("elements nested deeper than \(Self.maxDepth)") }
            let start = i
            try expect("<")
            let n = try name()
            var el = Element(name: n, attributes: [:], children: [], text: "")
            while true {
                let hadSpace = i < s.count && Self.isSpace(s[i])
                skipSpace()
                if peek("/>") {
                    i += 2
                    return el
                }
                if peek(">") {
                    i += 1
                    break
                }
                guard hadSpace else {
                    throw error(
                        i >= s.count ? "unterminated start tag <\(n)>" : "expected whitespace, '>' or '/>' in <\(n)>")
                }
                let an = try name()
                skipSpace()
                try expect("=")
                skipSpace()
                guard i < s.count, s[i] == "\"" || s[i] == "'" else {
                    throw error("attribute \(an) of <\(n)> needs a quoted value")
                }
                let q = s[i]
                i += 1
                var v = ""
                while i < s.count, s[i] != q {
                    if s[i] == "<" { throw error("'<' in the value of attribute \(an)") }
                    if s[i] == "&" {
                        v.unicodeScalars.append(try reference())
                    } else {
                        v.unicodeScalars.append(s[i])
                        i += 1
                    }
                }
                guard i < s.count else { throw error("unterminated value of attribute \(an) of <\(n)>") }
                i += 1
                guard el.attributes[an] == nil else { throw error("attribute \(an) repeated in <\(n)>") }
                el.attributes[an] = v
            }
            // Content.
            while true {
                guard i < s.count else { throw error("<\(n)> is never closed", at: start) }
                if peek("</") {
                    let closeStart = i
                    i += 2
                    let close = try name()
                    guard close == n else { throw error("</\(close)> closes <\(n)>", at: closeStart) }
                    skipSpace()
                    try expect(">")
                    return el
                }
                if peek("<![CDATA[") {
                    i += 9
                    while i < s.count, !peek("]]>") {
                        el.text.unicodeScalars.append(s[i])
                        i += 1
                    }
                    guard i < s.count else { throw error("unterminated CDATA section") }
                    i += 3
                } else if peek("<!--") || peek("<?") {
                    _ = try skipMisc()
                } else if peek("<!") {
                    throw error("unexpected markup '<!'")
                } else if peek("<") {
                    el.children.append(try element(depth: depth + 1))
                } else if s[i] == "&" {
                    el.text.unicodeScalars.append(try reference())
                } else {
                    el.text.unicodeScalars.append(s[i])
                    i += 1
                }
            }
        }

        /// `&lt;` `&gt;` `&amp;` `&apos;` `&quot;` `&#N;` `&#xH;`.
        mutating func reference() throws(ParseError) -> Unicode.Scalar {
            let start = i
            i += 1
            var body = ""
            while i < s.count, s[i] != ";", body.count < 12 {
                body.unicodeScalars.append(s[i])
                i += 1
            }
            guard i < s.count, s[i] == ";" else { throw error("unterminated entity reference", at: start) }
            i += 1
            switch body {
            case "lt": return "<"
            case "gt": return ">"
            case "amp": return "&"
            case "apos": return "'"
            case "quot": return "\""
            default:
                var v: UInt32?
                if body.hasPrefix("#x") {
                    v = UInt32(body.dropFirst(2), radix: 16)
                } else if body.hasPrefix("#") {
                    v = UInt32(body.dropFirst(), radix: 10)
                }
                guard let v, v != 0, let u = Unicode.Scalar(v) else {
                    throw error("unknown entity '&\(body);'", at: start)
                }
                return u
            }
        }
    }
}
