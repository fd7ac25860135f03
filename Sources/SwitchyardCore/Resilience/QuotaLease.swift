/// One replica's share of a client key's fleet-wide limits for the current
/// minute, so a fleet can hold a shared limit without a store round trip per
/// request.
///
/// The store keeps, per key and minute, how many requests the replicas have
/// *reserved* and how many tokens they have reported. A replica reserves a
/// block of requests at a time (a sixty-fourth of the limit) and admits from
/// it locally; the store grants at most what is left of the minute's limit,
/// so the fleet never admits more requests than the limit. What a replica
/// reserved and did not use is lost when the minute ends: with R replicas the
/// fleet may admit up to R blocks (R/64 of the limit) fewer than it could.
///
/// Tokens are known only when replies end: they are reported in batches (a
/// sixty-fourth of the limit, or with the next reservation), and each
/// reservation brings back the fleet's total, at least every `syncInterval`.
/// A key is held back once the fleet's tokens, as last heard plus those not
/// yet reported, reach the limit.
public struct QuotaLease: Sendable {
    /// What the store is asked for, and what it answers.
    public struct Reservation: Hashable, Sendable {
        /// The minute, as the Unix second it starts at.
        public let minute: Int64
        /// Requests wanted for this replica.
        public let requests: Int
        /// The requests-per-minute limit the store grants within.
        public let requestLimit: Int
        /// Tokens used here since the last report, added to the minute's total.
        public let tokens: Int

        public init(minute: Int64, requests: Int, requestLimit: Int, tokens: Int) {
            self.minute = minute
            self.requests = requests
            self.requestLimit = requestLimit
            self.tokens = tokens
        }
    }

    public struct Grant: Hashable, Sendable {
        /// Requests granted: `requests` asked, or what was left of the limit.
        public let requests: Int
        /// The fleet's tokens for the minute, this report included.
        public let tokens: Int

        public init(requests: Int, tokens: Int) {
            self.requests = requests
            self.tokens = tokens
        }
    }

    public enum Step: Hashable, Sendable {
        case allowed
        case limited(retryAfter: Duration, reason: RateLimiter.Reason)
        /// Ask the store, apply the grant with `apply`, then admit again.
        case reserve(Reservation)
    }

    /// The fleet's token total is asked for at least this often while a key is in use.
    public static let syncInterval = Duration.seconds(1)

    public let limits: RateLimiter.Limits
    private var minute: Int64 = .min
    private var requestsLeft = 0
    /// The store granted less than asked: the minute's requests are all reserved.
    private var requestsExhausted = false
    private var fleetTokens = 0
    private var unreportedTokens = 0
    private var lastSync: Moment?

    public init(limits: RateLimiter.Limits) {
        self.limits = limits
    }

    /// Requests reserved per store round trip.
    public var block: Int {
        guard let rpm = limits.requestsPerMinute else { return 0 }
        return max(1, rpm / 64)
    }

    /// Tokens reported per store round trip, at the most.
    public var tokenBatch: Int {
        guard let tpm = limits.tokensPerMinute else { return .max }
        return max(1, tpm / 64)
    }

    /// Admits one request from the reserved block, says to reserve more, or refuses.
    public mutating func admit(now: Moment) -> Step {
        // A caller's `now` may predate a minute the lease has already moved to.
        roll(to: Self.minute(of: now))
        let current = minute
        let retryAfter = Duration.seconds(max(1, current &+ 60 &- Self.second(of: now)))
        let stale = limits.tokensPerMinute != nil && (lastSync.map { now - $0 >= Self.syncInterval } ?? true)
        if !stale, let tpm = limits.tokensPerMinute, fleetTokens.saturatingAdding(unreportedTokens) >= tpm {
            return .limited(retryAfter: retryAfter, reason: .tokens)
        }
        let wantsRequests = limits.requestsPerMinute != nil && requestsLeft == 0 && !requestsExhausted
        if stale || wantsRequests { return .reserve(reservation(requests: wantsRequests ? block : 0)) }
        if limits.requestsPerMinute != nil {
            guard requestsLeft > 0 else { return .limited(retryAfter: retryAfter, reason: .requests) }
            requestsLeft -= 1
        }
        return .allowed
    }

    /// Takes the store's answer to `reservation` (made at `now`). A grant for
    /// a minute that has ended since is dropped.
    public mutating func apply(_ grant: Grant, for reservation: Reservation, now: Moment) {
        roll(to: Self.minute(of: now))
        guard reservation.minute == minute else { return }
        requestsLeft = requestsLeft.saturatingAdding(max(0, grant.requests))
        if grant.requests < reservation.requests { requestsExhausted = true }
        unreportedTokens = max(0, unreportedTokens - reservation.tokens)
        fleetTokens = max(fleetTokens, grant.tokens)
        lastSync = now
    }

    /// Counts the tokens a reply used; returns a report to send when enough have gathered.
    public mutating func charge(tokens: Int, now: Moment) -> Reservation? {
        guard limits.tokensPerMinute != nil, tokens > 0 else { return nil }
        roll(to: Self.minute(of: now))
        unreportedTokens = unreportedTokens.saturatingAdding(tokens)
        return unreportedTokens >= tokenBatch ? reservation(requests: 0) : nil
    }

    private func reservation(requests: Int) -> Reservation {
        Reservation(minute: minute, requests: requests, requestLimit: limits.requestsPerMinute ?? Int.max, tokens: unreportedTokens)
    }

    /// A new minute starts with nothing reserved; tokens not reported for
    /// the minute that ended no longer count against anything. Only forward:
    /// a late answer or a waiter's earlier `now` does not undo a newer minute.
    private mutating func roll(to current: Int64) {
        guard current > minute else { return }
        minute = current
        requestsLeft = 0
        requestsExhausted = false
        fleetTokens = 0
        unreportedTokens = 0
        lastSync = nil
    }

    static func second(of now: Moment) -> Int64 {
        let second = now.nanoseconds / 1_000_000_000
        return now.nanoseconds < 0 && now.nanoseconds % 1_000_000_000 != 0 ? second - 1 : second
    }

    /// The minute `now` falls in, as the Unix second it starts at.
    public static func minute(of now: Moment) -> Int64 {
        let second = second(of: now)
        return second - second.modulo(60)
    }
}
