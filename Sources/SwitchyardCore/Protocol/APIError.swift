/// An error as OpenAI-compatible clients expect it:
/// `{"error":{"message":…,"type":…,"code":…}}` with a matching HTTP status.
public struct APIError: Error, Hashable, Sendable, CustomStringConvertible {
    public var status: Int
    public var message: String
    public var type: String
    public var code: String?
    /// Sent as `Retry-After` (whole seconds, rounded up) and `retry-after-ms`.
    public var retryAfter: Duration?

    public init(status: Int, message: String, type: String, code: String? = nil, retryAfter: Duration? = nil) {
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.retryAfter = retryAfter
    }

    public var description: String { "\(status) \(code ?? type): \(message)" }

    /// The JSON body.
    public var body: [UInt8] {
        var members: [String: JSONValue] = ["message": .string(message), "type": .string(type)]
        members["code"] = code.map(JSONValue.string) ?? .null
        members["param"] = .null
        return JSONText.encode(.object(["error": .object(members)]))
    }

    /// `Retry-After` in whole seconds, at least 1.
    public var retryAfterSeconds: Int? {
        retryAfter.map { max(1, Int(min($0.secondsDouble, 1e9).rounded(.up))) }
    }

    public static func badRequest(_ message: String, code: String = "invalid_request") -> APIError {
        APIError(status: 400, message: message, type: "invalid_request_error", code: code)
    }

    public static func unauthorized(_ message: String) -> APIError {
        APIError(status: 401, message: message, type: "invalid_request_error", code: "invalid_api_key")
    }

    public static func forbidden(_ message: String, code: String) -> APIError {
        APIError(status: 403, message: message, type: "invalid_request_error", code: code)
    }

    public static func notFound(_ message: String, code: String = "not_found") -> APIError {
        APIError(status: 404, message: message, type: "invalid_request_error", code: code)
    }

    public static func tooLarge(limit: Int) -> APIError {
        APIError(
            status: 413,
            message: "request body is larger than the gateway's limit of \(limit) bytes",
            type: "invalid_request_error",
            code: "request_too_large"
        )
    }

    public static func rateLimited(_ message: String, retryAfter: Duration) -> APIError {
        APIError(status: 429, message: message, type: "rate_limit_error", code: "rate_limit_exceeded", retryAfter: retryAfter)
    }
}
