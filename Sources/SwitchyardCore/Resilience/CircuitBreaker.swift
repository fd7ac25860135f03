/// A circuit breaker for one deployment, as a pure state machine: the caller
/// asks for a permit before each upstream attempt and reports how it ended.
///
/// Closed → open when `consecutiveFailures` attempts in a row fail, or when the
/// failure rate over `window` reaches `failureRate` with at least
/// `minimumRequests` attempts. Open → half-open after `openDuration` (doubling
/// on each failed probe, up to `maxOpenDuration`): one probe goes through, and
/// its outcome closes or re-opens the breaker. A `429` with `Retry-After` does
/// not count as a failure but holds the deployment back until that time.
public struct CircuitBreaker: Sendable {
    public struct Policy: Hashable, Sendable {
        public var consecutiveFailures: Int
        public var failureRate: Double
        public var minimumRequests: Int
        public var window: Duration
        public var openDuration: Duration
        public var maxOpenDuration: Duration
        /// How long a probe may stay unanswered before another is allowed.
        public var probeTimeout: Duration

        public init(
            consecutiveFailures: Int = 5,
            failureRate: Double = 0.5,
            minimumRequests: Int = 20,
            window: Duration = .seconds(30),
            openDuration: Duration = .seconds(10),
            maxOpenDuration: Duration = .seconds(120),
            probeTimeout: Duration = .seconds(60)
        ) {
            self.consecutiveFailures = consecutiveFailures
            self.failureRate = failureRate
            self.minimumRequests = minimumRequests
            self.window = window
            self.openDuration = openDuration
            self.maxOpenDuration = maxOpenDuration
            self.probeTimeout = probeTimeout
        }
    }

    public enum State: Hashable, Sendable {
        case closed
        case open(until: Moment)
        case halfOpen(probeSince: Moment)

        /// `closed`, `open` or `half-open`.
        public var name: String {
            switch self {
            case .closed: "closed"
            case .open: "open"
            case .halfOpen: "half-open"
            }
        }
    }

    /// What the caller may do with the next attempt.
    public enum Permit: Hashable, Sendable {
        case allowed
        /// The single trial attempt of a half-open breaker.
        case probe
        /// Not now; try again after `retryAfter`.
        case rejected(retryAfter: Duration, reason: RejectionReason)
    }

    public enum RejectionReason: String, Hashable, Sendable {
        case open
        case probing
        case throttled
    }

    /// How an attempt ended, from the breaker's point of view.
    public enum Outcome: Hashable, Sendable {
        case success
        case failure
        /// The upstream said 429; hold back until the given moment.
        case throttled(until: Moment)
        /// The attempt ended without telling anything about the upstream
        /// (e.g. the client went away): it only releases a probe.
        case abandoned
    }

    public let policy: Policy
    public private(set) var state: State = .closed
    public private(set) var throttledUntil: Moment?
    private var consecutiveFailureCount = 0
    private var currentOpenDuration: Duration
    private var window: RollingCounts

    public init(policy: Policy = Policy()) {
        self.policy = policy
        self.currentOpenDuration = policy.openDuration
        self.window = RollingCounts(window: policy.window, slots: 10)
    }

    /// Asks whether an attempt may go to this deployment now.
    public mutating func acquire(now: Moment) -> Permit {
        if let throttledUntil, now < throttledUntil {
            return .rejected(retryAfter: throttledUntil - now, reason: .throttled)
        }
        switch state {
        case .closed:
            return .allowed
        case .open(let until):
            guard now >= until else { return .rejected(retryAfter: until - now, reason: .open) }
            state = .halfOpen(probeSince: now)
            return .probe
        case .halfOpen(let since):
            guard now - since >= policy.probeTimeout else {
                return .rejected(retryAfter: policy.openDuration, reason: .probing)
            }
            state = .halfOpen(probeSince: now)
            return .probe
        }
    }

    /// Records how an attempt ended; returns the new state when it changed.
    @discardableResult
    public mutating func record(_ outcome: Outcome, probe: Bool = false, now: Moment) -> State? {
        let before = state
        switch outcome {
        case .abandoned:
            if probe, case .halfOpen = state { state = .open(until: now) }
        case .throttled(let until):
            throttledUntil = max(throttledUntil ?? until, until)
            if probe, case .halfOpen = state { state = .open(until: until) }
        case .success:
            window.add(success: true, now: now)
            consecutiveFailureCount = 0
            if case .halfOpen = state {
                state = .closed
                currentOpenDuration = policy.openDuration
                window.reset()
            }
        case .failure:
            window.add(success: false, now: now)
            consecutiveFailureCount += 1
            switch state {
            case .halfOpen:
                currentOpenDuration = min(currentOpenDuration * 2, policy.maxOpenDuration)
                state = .open(until: now + currentOpenDuration)
            case .closed:
                if shouldTrip(now: now) {
                    state = .open(until: now + currentOpenDuration)
                }
            case .open:
                break
            }
        }
        return state == before ? nil : state
    }

    private func shouldTrip(now: Moment) -> Bool {
        if consecutiveFailureCount >= policy.consecutiveFailures { return true }
        let (total, failures) = window.totals(now: now)
        return total >= policy.minimumRequests && Double(failures) >= policy.failureRate * Double(total)
    }

    /// Whether requests would currently be refused (open and not yet due for a probe,
    /// or held back by a `Retry-After`).
    public func isAvailable(now: Moment) -> Bool {
        if let throttledUntil, now < throttledUntil { return false }
        if case .open(let until) = state { return now >= until }
        return true
    }
}

/// Success and failure counts over a sliding window, in fixed slots.
struct RollingCounts: Sendable {
    private let slotLength: Int64
    private var slotStarts: [Int64]
    private var successes: [Int]
    private var failures: [Int]

    init(window: Duration, slots: Int) {
        self.slotLength = max(1, window.nanosecondsClamped / Int64(slots))
        self.slotStarts = Array(repeating: .min, count: slots)
        self.successes = Array(repeating: 0, count: slots)
        self.failures = Array(repeating: 0, count: slots)
    }

    mutating func add(success: Bool, now: Moment) {
        let start = now.nanoseconds - now.nanoseconds.modulo(slotLength)
        let index = Int((start / slotLength).modulo(Int64(slotStarts.count)))
        if slotStarts[index] != start {
            slotStarts[index] = start
            successes[index] = 0
            failures[index] = 0
        }
        if success { successes[index] += 1 } else { failures[index] += 1 }
    }

    func totals(now: Moment) -> (total: Int, failures: Int) {
        let oldest = now.nanoseconds - slotLength * Int64(slotStarts.count)
        var total = 0, failed = 0
        for index in slotStarts.indices where slotStarts[index] > oldest {
            total += successes[index] + failures[index]
            failed += failures[index]
        }
        return (total, failed)
    }

    mutating func reset() {
        for index in slotStarts.indices { slotStarts[index] = .min }
    }
}

extension Int64 {
    /// The non-negative remainder, also for negative values.
    func modulo(_ divisor: Int64) -> Int64 {
        let remainder = self % divisor
        return remainder < 0 ? remainder + divisor : remainder
    }
}
