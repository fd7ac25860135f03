/// Per-client-key limits on requests and tokens per minute, as token buckets
/// driven by the caller's clock.
///
/// A request is admitted while both buckets hold something; its tokens are
/// charged when the reply's usage is known, so one large reply may push the
/// token bucket below zero and hold the key back until it refills.
public struct RateLimiter: Sendable {
    public struct Limits: Hashable, Sendable {
        public var requestsPerMinute: Int?
        public var tokensPerMinute: Int?

        public init(requestsPerMinute: Int? = nil, tokensPerMinute: Int? = nil) {
            self.requestsPerMinute = requestsPerMinute
            self.tokensPerMinute = tokensPerMinute
        }
    }

    public enum Decision: Hashable, Sendable {
        case allowed
        case limited(retryAfter: Duration, reason: Reason)
    }

    public enum Reason: String, Hashable, Sendable {
        case requests = "requests per minute"
        case tokens = "tokens per minute"
    }

    public let limits: Limits
    private var requestBucket: Double
    private var tokenBucket: Double
    private var lastRefill: Moment

    public init(limits: Limits, now: Moment) {
        self.limits = limits
        self.requestBucket = Double(limits.requestsPerMinute ?? 0)
        self.tokenBucket = Double(limits.tokensPerMinute ?? 0)
        self.lastRefill = now
    }

    /// Admits one request, or says how long until one would be admitted.
    public mutating func acquire(now: Moment) -> Decision {
        refill(now: now)
        if let rpm = limits.requestsPerMinute {
            if requestBucket < 1 {
                return .limited(retryAfter: Self.timeToRefill(deficit: 1 - requestBucket, perMinute: rpm), reason: .requests)
            }
        }
        if let tpm = limits.tokensPerMinute, tokenBucket <= 0 {
            return .limited(retryAfter: Self.timeToRefill(deficit: 1 - tokenBucket, perMinute: tpm), reason: .tokens)
        }
        if limits.requestsPerMinute != nil { requestBucket -= 1 }
        return .allowed
    }

    /// Charges the tokens a reply used.
    public mutating func consume(tokens: Int, now: Moment) {
        refill(now: now)
        guard limits.tokensPerMinute != nil else { return }
        tokenBucket -= Double(tokens)
    }

    private mutating func refill(now: Moment) {
        let elapsed = max(0, (now - lastRefill).secondsDouble)
        lastRefill = max(lastRefill, now)
        if let rpm = limits.requestsPerMinute {
            requestBucket = min(Double(rpm), requestBucket + elapsed * Double(rpm) / 60)
        }
        if let tpm = limits.tokensPerMinute {
            tokenBucket = min(Double(tpm), tokenBucket + elapsed * Double(tpm) / 60)
        }
    }

    private static func timeToRefill(deficit: Double, perMinute: Int) -> Duration {
        guard perMinute > 0 else { return .seconds(60) }
        // A reply can leave the bucket deep in debt: the wait is capped at a
        // day rather than computed into an overflow.
        let seconds = deficit * 60 / Double(perMinute)
        guard seconds.isFinite, seconds < 86_400 else { return .seconds(86_400) }
        return .nanoseconds(Int64((max(0, seconds) * 1e9).rounded(.up)))
    }
}

/// Client rate limits held across a fleet: per client key and minute, the
/// requests the replicas have reserved and the tokens they have reported, in
/// the shared store (see `QuotaLease` for how a replica uses it).
public protocol SharedRateLimits: Sendable {
    /// Reserves requests and reports tokens for one key's minute in one round
    /// trip, granting at most what is left of the limit; `nil` when the store
    /// cannot be reached in time (the caller then falls back to its own limiter).
    func reserve(key: String, _ reservation: QuotaLease.Reservation) async -> QuotaLease.Grant?
}
