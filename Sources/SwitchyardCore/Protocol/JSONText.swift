import Foundation

/// JSON encoding and decoding of `JSONValue`, with the gateway's errors.
///
/// Both run on every proxied request. Decoding goes through `JSONSerialization`
/// (a `Decodable` enum has to try each type in turn, paying for a thrown error
/// at every miss); encoding is a direct walk of the value, which measured about
/// four times faster than `JSONEncoder` for request-sized bodies.
public enum JSONText {
    /// Compact JSON bytes. Object keys are sorted so output is stable.
    public static func encode(_ value: JSONValue) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(256)
        write(value, into: &output)
        return output
    }

    /// Parses bytes as JSON, or explains in one line what is wrong with them.
    public static func decode(_ bytes: some Collection<UInt8>) throws(APIError) -> JSONValue {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        } catch {
            let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String
            throw .badRequest("request body is not valid JSON" + (detail.map { ": \($0)" } ?? ""), code: "invalid_json")
        }
        return value(of: object)
    }

    private static func value(of object: Any) -> JSONValue {
        switch object {
        case let string as String:
            return .string(string)
        case let dictionary as [String: Any]:
            var members: [String: JSONValue] = [:]
            members.reserveCapacity(dictionary.count)
            for (key, member) in dictionary { members[key] = value(of: member) }
            return .object(members)
        case let array as [Any]:
            return .array(array.map(value(of:)))
        case let number as NSNumber:
            // JSON true/false arrive as Bool-backed NSNumbers, whose type code is "c".
            if number.objCType.pointee == CChar(UInt8(ascii: "c")) { return .bool(number.boolValue) }
            return .number(number.doubleValue)
        case let bool as Bool:
            return .bool(bool)
        case let double as Double:
            return .number(double)
        case let int as Int:
            return .number(Double(int))
        default:
            return .null
        }
    }

    private static func write(_ value: JSONValue, into output: inout [UInt8]) {
        switch value {
        case .null:
            output.append(contentsOf: "null".utf8)
        case .bool(let bool):
            output.append(contentsOf: (bool ? "true" : "false").utf8)
        case .number(let number):
            if number.rounded() == number, abs(number) < 1e15 {
                output.append(contentsOf: String(Int64(number)).utf8)
            } else if number.isFinite {
                output.append(contentsOf: number.description.utf8)
            } else {
                output.append(contentsOf: "null".utf8)
            }
        case .string(let string):
            writeString(string, into: &output)
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                write(element, into: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let members):
            output.append(UInt8(ascii: "{"))
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                writeString(key, into: &output)
                output.append(UInt8(ascii: ":"))
                write(members[key]!, into: &output)
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    private static func writeString(_ string: String, into output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\n"): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case UInt8(ascii: "\t"): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                output.append(hexDigits[Int(byte >> 4)])
                output.append(hexDigits[Int(byte & 0x0f)])
            default:
                output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}
