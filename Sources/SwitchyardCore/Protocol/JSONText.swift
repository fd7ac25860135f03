import Foundation

/// JSON encoding and decoding of `JSONValue`, with the gateway's errors.
public enum JSONText {
    /// Compact JSON bytes. Keys are sorted so output is stable.
    public static func encode(_ value: JSONValue) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // A JSONValue holds only encodable values; finite numbers are all it can hold
        // from parsing, so encoding cannot fail for values built from parsed input.
        return (try? Array(encoder.encode(value))) ?? Array("null".utf8)
    }

    /// Parses bytes as JSON, or explains in one line what is wrong with them.
    public static func decode(_ bytes: some Collection<UInt8>) throws(APIError) -> JSONValue {
        do {
            return try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw .badRequest("request body is not valid JSON: \(describe(error))", code: "invalid_json")
        } catch {
            throw .badRequest("request body is not valid JSON", code: "invalid_json")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .dataCorrupted(let context):
            if let underlying = context.underlyingError as NSError?,
                let detail = underlying.userInfo[NSDebugDescriptionErrorKey] as? String
            {
                return detail
            }
            return context.debugDescription
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .keyNotFound(_, let context):
            return context.debugDescription
        @unknown default:
            return "unreadable"
        }
    }
}
