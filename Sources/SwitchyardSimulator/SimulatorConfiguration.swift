import SwitchyardCore

/// How a simulated upstream model behaves: who it claims to be, how fast it
/// answers, and how it fails.
public struct SimulatorConfiguration: Hashable, Sendable {
    /// Kinds of failure the simulator can produce.
    public enum ErrorKind: String, Hashable, Sendable, CaseIterable {
        /// `500` with an OpenAI error body.
        case serverError = "500"
        /// `429` with `Retry-After` and `retry-after-ms`.
        case rateLimited = "429"
        /// Never answers (until the client gives up).
        case timeout
        /// Azure's content-filter refusal: `400`, code `content_filter`.
        case contentFilter = "content-filter"
        /// Starts the reply, then drops the connection half-way.
        case cutStream = "cut-stream"
    }

    public var model: String
    public var version: String
    public var latencyMean: Duration
    public var latencyJitter: Duration
    /// Time to the first streamed token; the non-streaming latency when `nil`.
    public var timeToFirstToken: Duration?
    public var tokensPerSecond: Double
    /// Fraction of requests (0…1) that fail with `errorKind`.
    public var errorRate: Double
    public var errorKind: ErrorKind
    /// `Retry-After` sent with simulated 429s.
    public var retryAfter: Duration
    /// Words in each reply (capped by the request's `max_tokens`).
    public var replyTokens: Int
    /// When set, requests must carry this key (`Authorization: Bearer` on
    /// OpenAI paths, `api-key` on Azure paths) or get `401`.
    public var requiredKey: String?

    public init(
        model: String = "gpt-4o",
        version: String = "2024-11-20",
        latencyMean: Duration = .milliseconds(20),
        latencyJitter: Duration = .zero,
        timeToFirstToken: Duration? = nil,
        tokensPerSecond: Double = 200,
        errorRate: Double = 0,
        errorKind: ErrorKind = .serverError,
        retryAfter: Duration = .seconds(1),
        replyTokens: Int = 12,
        requiredKey: String? = nil
    ) {
        self.model = model
        self.version = version
        self.latencyMean = latencyMean
        self.latencyJitter = latencyJitter
        self.timeToFirstToken = timeToFirstToken
        self.tokensPerSecond = tokensPerSecond
        self.errorRate = errorRate
        self.errorKind = errorKind
        self.retryAfter = retryAfter
        self.replyTokens = replyTokens
        self.requiredKey = requiredKey
    }

    /// The `model` field of every reply: `MODEL-VERSION`.
    public var replyModel: String { "\(model)-\(version)" }
}

/// Parses `MEAN[:JITTER]` in milliseconds, e.g. `120:30`.
public func parseLatency(_ text: String) -> (mean: Duration, jitter: Duration)? {
    let parts = text.split(separator: ":", omittingEmptySubsequences: false)
    guard (1...2).contains(parts.count), let mean = Double(parts[0]), mean >= 0 else { return nil }
    var jitter = 0.0
    if parts.count == 2 {
        guard let value = Double(parts[1]), value >= 0 else { return nil }
        jitter = value
    }
    return (.milliseconds(1) * mean, .milliseconds(1) * jitter)
}
