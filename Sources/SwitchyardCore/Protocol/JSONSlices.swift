/// Where the members of a JSON object, or the elements of an array, lie in
/// the bytes that carried them — so a request can be forwarded with its own
/// text for everything the gateway does not change (a 64-bit `seed` keeps
/// every digit, `1e15` stays `1e15`).
///
/// The scanner trusts that the bytes are valid JSON (`JSONText.decode` has
/// checked them); on anything else it returns nil rather than guess.
public enum JSONSlices {
    /// One object member: the key's bytes (quotes included) and the value's.
    public struct Member: Sendable, Hashable {
        /// The key, decoded.
        public var key: String
        public var keyRange: Range<Int>
        public var valueRange: Range<Int>
    }

    /// The members of the object that `range` of `bytes` holds, in order.
    public static func members(of bytes: [UInt8], in range: Range<Int>? = nil) -> [Member]? {
        let range = range ?? 0..<bytes.count
        var index = skipWhitespace(bytes, from: range.lowerBound, to: range.upperBound)
        guard index < range.upperBound, bytes[index] == UInt8(ascii: "{") else { return nil }
        index += 1
        var members: [Member] = []
        while true {
            index = skipWhitespace(bytes, from: index, to: range.upperBound)
            guard index < range.upperBound else { return nil }
            if bytes[index] == UInt8(ascii: "}") { return members }
            if !members.isEmpty {
                guard bytes[index] == UInt8(ascii: ",") else { return nil }
                index = skipWhitespace(bytes, from: index + 1, to: range.upperBound)
            }
            guard index < range.upperBound, bytes[index] == UInt8(ascii: "\""), let keyEnd = skipString(bytes, from: index, to: range.upperBound) else { return nil }
            let keyRange = index..<keyEnd
            // Keys without escapes (all of an OpenAI body's) are read as they
            // are; only an escaped one is decoded — this runs on every request.
            let key: String
            if bytes[(index + 1)..<(keyEnd - 1)].contains(UInt8(ascii: "\\")) {
                guard case .string(let decoded)? = try? JSONText.decode(bytes[keyRange]) else { return nil }
                key = decoded
            } else {
                key = String(decoding: bytes[(index + 1)..<(keyEnd - 1)], as: UTF8.self)
            }
            index = skipWhitespace(bytes, from: keyEnd, to: range.upperBound)
            guard index < range.upperBound, bytes[index] == UInt8(ascii: ":") else { return nil }
            index = skipWhitespace(bytes, from: index + 1, to: range.upperBound)
            guard let valueEnd = skipValue(bytes, from: index, to: range.upperBound) else { return nil }
            members.append(Member(key: key, keyRange: keyRange, valueRange: index..<valueEnd))
            index = valueEnd
        }
    }

    /// The elements of the array that `range` of `bytes` holds, in order.
    public static func elements(of bytes: [UInt8], in range: Range<Int>) -> [Range<Int>]? {
        var index = skipWhitespace(bytes, from: range.lowerBound, to: range.upperBound)
        guard index < range.upperBound, bytes[index] == UInt8(ascii: "[") else { return nil }
        index += 1
        var elements: [Range<Int>] = []
        while true {
            index = skipWhitespace(bytes, from: index, to: range.upperBound)
            guard index < range.upperBound else { return nil }
            if bytes[index] == UInt8(ascii: "]") { return elements }
            if !elements.isEmpty {
                guard bytes[index] == UInt8(ascii: ",") else { return nil }
                index = skipWhitespace(bytes, from: index + 1, to: range.upperBound)
            }
            guard let end = skipValue(bytes, from: index, to: range.upperBound) else { return nil }
            elements.append(index..<end)
            index = end
        }
    }

    // MARK: Scanning

    static func skipWhitespace(_ bytes: [UInt8], from start: Int, to end: Int) -> Int {
        var index = start
        while index < end, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 { index += 1 }
        return index
    }

    /// The index after the string starting at `start` (its opening quote).
    static func skipString(_ bytes: [UInt8], from start: Int, to end: Int) -> Int? {
        var index = start + 1
        while index < end {
            switch bytes[index] {
            case UInt8(ascii: "\\"): index += 2
            case UInt8(ascii: "\""): return index + 1
            default: index += 1
            }
        }
        return nil
    }

    /// The index after the value starting at `start`.
    static func skipValue(_ bytes: [UInt8], from start: Int, to end: Int) -> Int? {
        guard start < end else { return nil }
        switch bytes[start] {
        case UInt8(ascii: "\""):
            return skipString(bytes, from: start, to: end)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            var index = start
            while index < end {
                switch bytes[index] {
                case UInt8(ascii: "\""):
                    guard let after = skipString(bytes, from: index, to: end) else { return nil }
                    index = after
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { return index + 1 }
                default:
                    break
                }
                index += 1
            }
            return nil
        default:
            // A number or a literal: up to the next delimiter.
            var index = start
            while index < end {
                switch bytes[index] {
                case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x0A, 0x0D, 0x09: return index
                default: index += 1
                }
            }
            return index
        }
    }
}

extension JSONSlices {
    /// A change to one top-level member.
    public enum Edit: Sendable, Hashable {
        case remove
        /// The member's new value, as JSON text.
        case set([UInt8])

        public static func value(_ value: JSONValue) -> Edit { .set(JSONText.encode(value)) }
    }

    /// The object in `bytes` with `edits` applied: untouched members keep
    /// their own bytes and order, edited ones change in place, new ones come
    /// last (sorted by key). A key the client repeated is sent once, with its
    /// last value, as every JSON reader here takes it.
    public static func rewrite(_ bytes: [UInt8], members: [Member], edits: [String: Edit]) -> [UInt8] {
        var last: [String: Int] = [:]
        for (index, member) in members.enumerated() { last[member.key] = index }
        var output: [UInt8] = [UInt8(ascii: "{")]
        output.reserveCapacity(bytes.count + 256)
        var first = true
        func separator() {
            if !first { output.append(UInt8(ascii: ",")) }
            first = false
        }
        for (index, member) in members.enumerated() where last[member.key] == index {
            switch edits[member.key] {
            case .remove?:
                continue
            case .set(let value)?:
                separator()
                output += bytes[member.keyRange]
                output.append(UInt8(ascii: ":"))
                output += value
            case nil:
                separator()
                output += bytes[member.keyRange]
                output.append(UInt8(ascii: ":"))
                output += bytes[member.valueRange]
            }
        }
        for (key, edit) in edits.sorted(by: { $0.key < $1.key }) where last[key] == nil {
            guard case .set(let value) = edit else { continue }
            separator()
            output += JSONText.encode(.string(key))
            output.append(UInt8(ascii: ":"))
            output += value
        }
        output.append(UInt8(ascii: "}"))
        return output
    }
}
