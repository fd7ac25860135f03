/// One gateway request as its access-log line tells it: who asked (the
/// client key's name, never the key), where it went, how it ended, how long
/// it took and what it cost. Message content appears only when the route has
/// `logContent: true`.
public struct AccessLogEntry: Sendable {
    /// How bad the outcome was; the access log's level switch filters on it.
    public enum Level: String, Sendable, Comparable, CaseIterable {
        case info, warning, error

        private var rank: Int {
            switch self {
            case .info: 0
            case .warning: 1
            case .error: 2
            }
        }

        public static func < (lhs: Level, rhs: Level) -> Bool { lhs.rank < rhs.rank }
    }

    public var time: Moment
    public var requestID: String
    public var method: String
    public var path: String
    public var operation: String?
    public var client: String?
    public var route: String?
    public var deployment: String?
    public var modelVersion: String?
    public var revision: String?
    public var status: Int
    /// The error's code when the gateway refused or a stream broke
    /// (`upstream_timeout`, `stream_interrupted`, `client_closed`, …).
    public var error: String?
    public var latency: Duration
    public var timeToFirstToken: Duration?
    public var inputTokens: Int?
    public var outputTokens: Int?
    public var cost: Double?
    public var attempts: Int
    public var stream: Bool
    public var traceID: String?
    /// The upstream's `x-request-id` (the id its support asks for).
    public var upstreamRequestID: String?
    /// Raw JSON of the client's request body (`logContent` routes only).
    public var requestContent: [UInt8]?
    /// The reply body, or a stream's events as text (`logContent` routes only).
    public var replyContent: [UInt8]?

    /// Message content kept per field at most (1 MiB).
    public static let maximumContentBytes = 1 << 20

    public init(time: Moment, requestID: String, method: String, path: String, status: Int, latency: Duration) {
        self.time = time
        self.requestID = requestID
        self.method = method
        self.path = path
        self.status = status
        self.latency = latency
        self.attempts = 0
        self.stream = false
    }

    /// Errors the gateway answered with a 5xx, and streams that broke after
    /// their 200, are errors; refusals and clients that left are warnings.
    public var level: Level {
        if status >= 500 { return .error }
        if status >= 400 || error == "client_closed" { return .warning }
        if error != nil { return .error }
        return .info
    }

    /// The line, newline included, with fields in a fixed order.
    public func encoded() -> [UInt8] {
        var line: [UInt8] = []
        line.reserveCapacity(384 + (requestContent?.count ?? 0) + (replyContent?.count ?? 0))
        var first = true
        func key(_ name: String) {
            line.append(first ? UInt8(ascii: "{") : UInt8(ascii: ","))
            first = false
            line.append(UInt8(ascii: "\""))
            line.append(contentsOf: name.utf8)
            line.append(contentsOf: "\":".utf8)
        }
        func string(_ name: String, _ value: String?) {
            guard let value else { return }
            key(name)
            JSONText.appendString(value, to: &line)
        }
        func integer(_ name: String, _ value: Int?) {
            guard let value else { return }
            key(name)
            line.append(contentsOf: String(value).utf8)
        }
        func number(_ name: String, _ value: Double?) {
            guard let value, value.isFinite else { return }
            key(name)
            line.append(contentsOf: String(value).utf8)
        }
        // Milliseconds with three decimals, written from whole microseconds:
        // printing a Double was most of a line's cost.
        func milliseconds(_ name: String, _ duration: Duration?) {
            guard let duration else { return }
            let micros = duration.nanosecondsClamped / 1000
            let whole = micros / 1000
            let fraction = abs(micros % 1000)
            key(name)
            if micros < 0, whole == 0 { line.append(UInt8(ascii: "-")) }
            line.append(contentsOf: String(whole).utf8)
            line.append(UInt8(ascii: "."))
            if fraction < 100 { line.append(UInt8(ascii: "0")) }
            if fraction < 10 { line.append(UInt8(ascii: "0")) }
            line.append(contentsOf: String(fraction).utf8)
        }
        string("time", time.timestamp)
        string("level", level.rawValue)
        string("request_id", requestID)
        string("method", method)
        string("path", path)
        string("operation", operation)
        string("client", client)
        string("route", route)
        string("deployment", deployment)
        string("model_version", modelVersion)
        string("revision", revision)
        integer("status", status)
        string("error", error)
        milliseconds("latency_ms", latency)
        milliseconds("ttft_ms", timeToFirstToken)
        integer("input_tokens", inputTokens)
        integer("output_tokens", outputTokens)
        number("cost", cost)
        integer("attempts", attempts)
        key("stream")
        line.append(contentsOf: (stream ? "true" : "false").utf8)
        string("trace_id", traceID)
        string("upstream_request_id", upstreamRequestID)
        if let requestContent {
            key("request")
            // Compact JSON as the gateway re-encoded it; past the cap, a cut string.
            if requestContent.count <= Self.maximumContentBytes {
                line.append(contentsOf: requestContent)
            } else {
                JSONText.appendString(String(decoding: requestContent.prefix(Self.maximumContentBytes), as: UTF8.self), to: &line)
                key("request_truncated")
                line.append(contentsOf: "true".utf8)
            }
        }
        if let replyContent {
            key("reply")
            JSONText.appendString(String(decoding: replyContent.prefix(Self.maximumContentBytes), as: UTF8.self), to: &line)
            if replyContent.count > Self.maximumContentBytes {
                key("reply_truncated")
                line.append(contentsOf: "true".utf8)
            }
        }
        line.append(contentsOf: "}\n".utf8)
        return line
    }
}

/// Which access-log lines are written: those at `minimum` or worse, and of
/// the `info` ones, a share of `sampleRate` spread evenly (every 10th at
/// 0.1). Warnings and errors are never sampled away.
public struct AccessLogFilter: Sendable, Hashable {
    public var minimum: AccessLogEntry.Level
    public var sampleRate: Double

    public init(minimum: AccessLogEntry.Level = .info, sampleRate: Double = 1) {
        self.minimum = minimum
        self.sampleRate = sampleRate.isFinite ? min(1, max(0, sampleRate)) : 1
    }

    /// Whether the `sequence`-th info line (counted from 0) is kept: the
    /// kept count rises by one each time `sequence × rate` passes a whole number.
    public func admits(_ level: AccessLogEntry.Level, sequence: UInt64) -> Bool {
        guard level >= minimum else { return false }
        guard level == .info, sampleRate < 1 else { return true }
        guard sampleRate > 0 else { return false }
        let before = (Double(sequence) * sampleRate).rounded(.down)
        let after = (Double(sequence &+ 1) * sampleRate).rounded(.down)
        return after > before
    }
}
