import Foundation
import Testing
@testable import SwitchyardCore

/// The hand-written parser, checked against Foundation's `JSONSerialization`
/// on generated documents and on a list of malformed ones.
@Suite("JSON parser")
struct JSONParserTests {
    /// Foundation's reading of a document, as a `JSONValue` (nil when it refuses it).
    static func foundation(_ text: [UInt8]) -> JSONValue? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text), options: [.fragmentsAllowed]) else { return nil }
        return value(of: object)
    }

    static func value(of object: Any) -> JSONValue {
        switch object {
        case let string as String: return .string(string)
        case let dictionary as [String: Any]: return .object(dictionary.mapValues(value(of:)))
        case let array as [Any]: return .array(array.map(value(of:)))
        case let number as NSNumber:
            if number.objCType.pointee == CChar(UInt8(ascii: "c")) { return .bool(number.boolValue) }
            return .number(number.doubleValue)
        default: return .null
        }
    }

    static func ours(_ text: [UInt8]) -> JSONValue? {
        try? JSONText.decode(text)
    }

    /// A random document: nested objects and arrays of strings (with escapes,
    /// non-ASCII and astral characters), numbers, booleans and nulls.
    static func randomValue(_ generator: inout StickyAssignmentTests.SplitMix, depth: Int = 0) -> JSONValue {
        let pick = generator.next() % (depth > 4 ? 4 : 6)
        switch pick {
        case 0: return .null
        case 1: return .bool(generator.next() % 2 == 0)
        case 2:
            let choices: [Double] = [0, -0.5, 1, 42, 1e-7, 123_456.789, -98_765, 3.25e10, 0.1]
            return .number(choices[Int(generator.next() % UInt64(choices.count))])
        case 3:
            let pieces = ["plain", "quote \" here", "back\\slash", "tab\tnew\nline", "café", "日本語", "emoji 🚀", "\u{1}ctl", "/slash", ""]
            return .string((0..<Int(generator.next() % 3 + 1)).map { _ in pieces[Int(generator.next() % UInt64(pieces.count))] }.joined(separator: " "))
        case 4:
            return .array((0..<Int(generator.next() % 4)).map { _ in randomValue(&generator, depth: depth + 1) })
        default:
            var members: [String: JSONValue] = [:]
            for index in 0..<Int(generator.next() % 4) {
                members["key\(index) \u{e9}\"\(generator.next() % 100)"] = randomValue(&generator, depth: depth + 1)
            }
            return .object(members)
        }
    }

    @Test func agreesWithFoundationOnGeneratedDocuments() throws {
        var generator = StickyAssignmentTests.SplitMix(state: 20261122)
        for _ in 0..<2_000 {
            let value = Self.randomValue(&generator)
            // Foundation writes the escapes its way (\/ and \u escapes); read that too.
            let foundationText = try Array(JSONSerialization.data(withJSONObject: Self.anyObject(value), options: [.fragmentsAllowed]))
            let ourText = JSONText.encode(value)
            for text in [foundationText, ourText] {
                let expected = Self.foundation(text)
                #expect(expected != nil)
                #expect(Self.ours(text) == expected, "\(String(decoding: text, as: UTF8.self))")
            }
        }
    }

    static func anyObject(_ value: JSONValue) -> Any {
        switch value {
        case .null: return NSNull()
        case .bool(let bool): return bool
        case .number(let number): return number
        case .string(let string): return string
        case .array(let elements): return elements.map(anyObject)
        case .object(let members): return members.mapValues(anyObject)
        }
    }

    @Test func readsEscapesWhitespaceAndNumbersLikeFoundation() {
        let documents = [
            #"  {"a" : [1, -0, 0.5, -12.5e3, 1E2, 2e-2, true, false, null] , "b":"\u00e9\u65e5\ud83d\ude80\/\b\f\n\r\t\"\\"}  "#,
            #"[]"#, #"{}"#, #"[[[[]]]]"#, #""just a string""#, "17", "\t\r\n[ 1 ]\n",
            #"{"dup":1,"dup":2}"#,
        ]
        for document in documents {
            let bytes = Array(document.utf8)
            #expect(Self.foundation(bytes) != nil, "\(document)")
            #expect(Self.ours(bytes) == Self.foundation(bytes), "\(document)")
        }
    }

    @Test func refusesWhatFoundationRefuses() {
        let malformed = [
            "", " ", "{", "}", "01", "1.", ".5", "-", "1e", "1e+", "+1", "tru", "nul", "falsey",
            "[1 2]", #"{"a" 1}"#, "{1:2}", #"{"a":}"#, #""\x""#, "\"\u{1}\"", #""unterminated"#, "[", "[[]", "NaN", "Infinity",
            #"{"a":1}x"#, "'single'", #""\u12""#, #""\uZZZZ""#,
        ]
        for document in malformed {
            let bytes = Array(document.utf8)
            #expect(Self.foundation(bytes) == nil, "Foundation should refuse \(document)")
            #expect(Self.ours(bytes) == nil, "should refuse \(document)")
        }
        // Foundation lets a trailing comma through; RFC 8259 does not, and neither do we.
        #expect(Self.ours(Array("[1,]".utf8)) == nil)
        #expect(Self.ours(Array(#"{"a":1,}"#.utf8)) == nil)
        #expect(Self.ours([0x22, 0xFF, 0x22]) == nil, "invalid UTF-8 inside a string")
        #expect(Self.ours(Array(#""\udc00""#.utf8)) == nil, "a lone low surrogate")
        #expect(Self.ours(Array(#""\ud800x""#.utf8)) == nil, "a high surrogate without its pair")
    }

    @Test func explainsWhereADocumentGoesWrong() {
        #expect(throws: APIError.badRequest("request body is not valid JSON: expected ',' or '}' in an object, found '\"' (at byte 7)", code: "invalid_json")) {
            try JSONText.decode(Array(#"{"a":1 "b":2}"#.utf8))
        }
        #expect(throws: APIError.badRequest("request body is not valid JSON: unexpected end of input (at byte 0)", code: "invalid_json")) {
            try JSONText.decode([UInt8]())
        }
    }

    @Test func refusesNestingTooDeepInsteadOfOverflowingTheStack() {
        let deep = Array(repeating: UInt8(ascii: "["), count: 100_000)
        #expect(Self.ours(deep) == nil)
        let fine = Array(repeating: UInt8(ascii: "["), count: 500) + Array(repeating: UInt8(ascii: "]"), count: 500)
        #expect(Self.ours(fine) != nil)
    }
}
