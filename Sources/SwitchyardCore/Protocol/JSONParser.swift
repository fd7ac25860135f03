/// A strict JSON (RFC 8259) parser that builds `JSONValue` straight from bytes.
///
/// Every proxied request is parsed once. Going through `JSONSerialization`
/// cost a tree of `Any`, a dynamic cast per value and a generic-metadata lookup
/// per cast: about 8 % of the gateway's CPU per request (docs/performance.md).
struct JSONParser {
    /// Deeper nesting is refused rather than risking the stack.
    static let maximumDepth = 512

    /// What is wrong with a document, and where.
    struct Failure: Error {
        let reason: String
        let offset: Int
    }

    private let bytes: UnsafeRawBufferPointer
    private var index = 0
    private var depth = 0

    private init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// Parses one whole document (whitespace around it is allowed, nothing else).
    static func parse(_ bytes: UnsafeRawBufferPointer) throws(Failure) -> JSONValue {
        var parser = JSONParser(bytes)
        parser.skipWhitespace()
        let value = try parser.parseValue()
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw parser.failure("unexpected \(parser.describeCurrent()) after the JSON value") }
        return value
    }

    // MARK: Values

    private mutating func parseValue() throws(Failure) -> JSONValue {
        guard index < bytes.count else { throw failure("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw failure("unexpected \(describeCurrent())")
        }
    }

    private mutating func parseObject() throws(Failure) -> JSONValue {
        var members: [String: JSONValue] = [:]
        try parseElements(closedBy: UInt8(ascii: "}"), in: "an object") { parser throws(Failure) in
            guard parser.peek(UInt8(ascii: "\"")) else { throw parser.failure("expected a string key, found \(parser.describeCurrent())") }
            let key = try parser.parseString()
            parser.skipWhitespace()
            guard parser.peek(UInt8(ascii: ":")) else {
                throw parser.failure("expected ':' after the key \"\(key)\", found \(parser.describeCurrent())")
            }
            parser.index += 1
            parser.skipWhitespace()
            members[key] = try parser.parseValue()
        }
        return .object(members)
    }

    private mutating func parseArray() throws(Failure) -> JSONValue {
        var elements: [JSONValue] = []
        try parseElements(closedBy: UInt8(ascii: "]"), in: "an array") { parser throws(Failure) in
            elements.append(try parser.parseValue())
        }
        return .array(elements)
    }

    /// The part objects and arrays share: the opening byte (at `index`), then
    /// elements separated by commas up to `close`, one level deeper.
    private mutating func parseElements(
        closedBy close: UInt8,
        in container: String,
        _ element: (inout JSONParser) throws(Failure) -> Void
    ) throws(Failure) {
        depth += 1
        guard depth <= Self.maximumDepth else { throw failure("nested more than \(Self.maximumDepth) levels deep") }
        index += 1
        skipWhitespace()
        if !peek(close) {
            while true {
                skipWhitespace()
                try element(&self)
                skipWhitespace()
                guard peek(UInt8(ascii: ",")) else { break }
                index += 1
            }
            guard peek(close) else {
                throw failure("expected ',' or '\(Character(UnicodeScalar(close)))' in \(container), found \(describeCurrent())")
            }
        }
        index += 1
        depth -= 1
    }

    // MARK: Strings

    private mutating func parseString() throws(Failure) -> String {
        let start = index
        index += 1
        // Fast path: no escapes, so the bytes between the quotes are the string.
        var scan = index
        while scan < bytes.count {
            let byte = bytes[scan]
            if byte == UInt8(ascii: "\"") {
                let text = try decodeUTF8(UnsafeRawBufferPointer(rebasing: bytes[index..<scan]), at: index)
                index = scan + 1
                return text
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 { break }
            scan += 1
        }
        var utf8: [UInt8] = Array(bytes[index..<scan])
        index = scan
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return try decodeUTF8(utf8, at: start)
            case UInt8(ascii: "\\"):
                index += 1
                try parseEscape(into: &utf8)
            case ..<0x20:
                throw failure("control character U+\(hex(UInt16(byte))) inside a string (escape it)")
            default:
                utf8.append(byte)
                index += 1
            }
        }
        throw failure("unterminated string", at: start)
    }

    private mutating func parseEscape(into utf8: inout [UInt8]) throws(Failure) {
        guard index < bytes.count else { throw failure("unterminated string") }
        let escaped = bytes[index]
        index += 1
        switch escaped {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escaped)
        case UInt8(ascii: "b"): utf8.append(0x08)
        case UInt8(ascii: "f"): utf8.append(0x0C)
        case UInt8(ascii: "n"): utf8.append(0x0A)
        case UInt8(ascii: "r"): utf8.append(0x0D)
        case UInt8(ascii: "t"): utf8.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = UInt32(try parseHex4())
            if (0xD800...0xDBFF).contains(scalar) {
                guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                    throw failure("\\u\(hex(UInt16(scalar))) is half of a surrogate pair; the other half is missing")
                }
                index += 2
                let low = UInt32(try parseHex4())
                guard (0xDC00...0xDFFF).contains(low) else { throw failure("\\u\(hex(UInt16(low))) cannot follow the high surrogate \\u\(hex(UInt16(scalar)))") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(scalar) {
                throw failure("\\u\(hex(UInt16(scalar))) is a lone low surrogate")
            }
            // Checked above: not a surrogate, so a valid scalar.
            utf8.append(contentsOf: UTF8.encode(Unicode.Scalar(scalar)!)!)
        default:
            index -= 1
            throw failure("unknown escape '\\\(describeCurrent(quoted: false))' in a string")
        }
    }

    private mutating func parseHex4() throws(Failure) -> UInt16 {
        guard index + 4 <= bytes.count else { throw failure("\\u needs four hex digits") }
        var value: UInt16 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure("\\u needs four hex digits")
            }
            value = value << 4 | UInt16(digit)
            index += 1
        }
        return value
    }

    private func decodeUTF8(_ utf8: UnsafeRawBufferPointer, at offset: Int) throws(Failure) -> String {
        guard let text = Self.string(utf8) else { throw failure("a string is not valid UTF-8", at: offset) }
        return text
    }

    private func decodeUTF8(_ utf8: [UInt8], at offset: Int) throws(Failure) -> String {
        guard let text = utf8.withUnsafeBytes(Self.string) else { throw failure("a string is not valid UTF-8", at: offset) }
        return text
    }

    /// ASCII (keys, most values) is valid UTF-8 as it stands; the validating
    /// initializer is generic and costs a metadata lookup per string.
    private static func string(_ utf8: UnsafeRawBufferPointer) -> String? {
        if utf8.allSatisfy({ $0 < 0x80 }) { return String(decoding: utf8, as: UTF8.self) }
        return String(validating: utf8, as: UTF8.self)
    }

    // MARK: Numbers and literals

    private mutating func parseNumber() throws(Failure) -> Double {
        let start = index
        if peek(UInt8(ascii: "-")) { index += 1 }
        if peek(UInt8(ascii: "0")) {
            index += 1
        } else if digitsFollow() {
            skipDigits()
        } else {
            throw failure("a number needs digits after '-'", at: start)
        }
        if peek(UInt8(ascii: ".")) {
            index += 1
            guard digitsFollow() else { throw failure("a number needs digits after the decimal point", at: start) }
            skipDigits()
        }
        if peek(UInt8(ascii: "e")) || peek(UInt8(ascii: "E")) {
            index += 1
            if peek(UInt8(ascii: "+")) || peek(UInt8(ascii: "-")) { index += 1 }
            guard digitsFollow() else { throw failure("a number needs digits in its exponent", at: start) }
            skipDigits()
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        guard let number = Double(text) else { throw failure("'\(text)' is not a number", at: start) }
        return number
    }

    private func digitsFollow() -> Bool {
        index < bytes.count && (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index])
    }

    private mutating func skipDigits() {
        while digitsFollow() { index += 1 }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(Failure) {
        let expected = UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
        guard index + expected.count <= bytes.count, bytes[index..<index + expected.count].elementsEqual(expected) else {
            throw failure("unexpected \(describeCurrent())")
        }
        index += expected.count
    }

    // MARK: Helpers

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    private func peek(_ byte: UInt8) -> Bool {
        index < bytes.count && bytes[index] == byte
    }

    private func describeCurrent(quoted: Bool = true) -> String {
        guard index < bytes.count else { return "end of input" }
        let byte = bytes[index]
        if byte >= 0x20, byte < 0x7F {
            let character = String(UnicodeScalar(byte))
            return quoted ? "'\(character)'" : character
        }
        return "byte 0x\(String(byte, radix: 16, uppercase: true))"
    }

    private func hex(_ value: UInt16) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    private func failure(_ reason: String, at offset: Int? = nil) -> Failure {
        Failure(reason: reason, offset: offset ?? index)
    }
}
