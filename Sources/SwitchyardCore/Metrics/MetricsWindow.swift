/// One deployment's measurements in fixed 10-second buckets, kept for an
/// hour in a ring: constant memory however long the gateway runs.
public struct MetricsWindow: Sendable {
    /// The width of one bucket.
    public static let bucketSeconds: Int64 = 10
    /// How many buckets are kept: one hour.
    public static let bucketsKept = 360

    /// The figures of one time bucket, or of several merged.
    public struct Bucket: Hashable, Sendable, Codable {
        /// The start of the bucket, in whole seconds since the epoch.
        public var start: Int64
        public var requests: Int = 0
        /// Counts by `RequestOutcome.rawValue`.
        public var outcomes: [Int] = Bucket.noOutcomes
        /// Shared by every empty bucket (copied on the first count), so a
        /// ring of empty buckets allocates nothing per bucket.
        static let noOutcomes = [Int](repeating: 0, count: RequestOutcome.allCases.count)
        public var latency = LatencyHistogram()
        public var timeToFirstToken = LatencyHistogram()
        public var promptTokens: Int = 0
        public var completionTokens: Int = 0
        public var cost: Double = 0
        /// The sum of each request's cost squared, for the cost gate's variance.
        public var costSquares: Double = 0

        public init(start: Int64) {
            self.start = start
        }

        private enum CodingKeys: String, CodingKey {
            case start, requests, outcomes, latency, timeToFirstToken, promptTokens, completionTokens, cost, costSquares
        }

        /// Stored figures are checked as they are read: counts are never
        /// negative and there is one per outcome, so nothing later can trap on them.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            start = try container.decode(Int64.self, forKey: .start)
            requests = max(0, try container.decode(Int.self, forKey: .requests))
            let outcomes = try container.decode([Int].self, forKey: .outcomes)
            guard outcomes.count == RequestOutcome.allCases.count else {
                throw DecodingError.dataCorruptedError(forKey: .outcomes, in: container, debugDescription: "expected \(RequestOutcome.allCases.count) outcome counts, got \(outcomes.count)")
            }
            self.outcomes = outcomes.map { max(0, $0) }
            latency = try container.decode(LatencyHistogram.self, forKey: .latency)
            timeToFirstToken = try container.decode(LatencyHistogram.self, forKey: .timeToFirstToken)
            promptTokens = max(0, try container.decode(Int.self, forKey: .promptTokens))
            completionTokens = max(0, try container.decode(Int.self, forKey: .completionTokens))
            cost = try container.decode(Double.self, forKey: .cost)
            costSquares = try container.decode(Double.self, forKey: .costSquares)
        }

        /// Non-finite sums (which JSON cannot hold) are written as 0 rather than fail the whole rollout's save.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(start, forKey: .start)
            try container.encode(requests, forKey: .requests)
            try container.encode(outcomes, forKey: .outcomes)
            try container.encode(latency, forKey: .latency)
            try container.encode(timeToFirstToken, forKey: .timeToFirstToken)
            try container.encode(promptTokens, forKey: .promptTokens)
            try container.encode(completionTokens, forKey: .completionTokens)
            try container.encode(cost.isFinite ? cost : 0, forKey: .cost)
            try container.encode(costSquares.isFinite ? costSquares : 0, forKey: .costSquares)
        }

        public func count(_ outcome: RequestOutcome) -> Int { outcomes[outcome.rawValue] }

        /// Attempts that failed through the deployment's own fault.
        public var deploymentFailures: Int {
            RequestOutcome.allCases.reduce(0) { $0 + ($1.isDeploymentFailure ? outcomes[$1.rawValue] : 0) }
        }

        public mutating func merge(_ other: Bucket) {
            // Saturating: roll-ups come back from the store, whose rows may be anything.
            requests = requests.saturatingAdding(other.requests)
            for index in outcomes.indices where index < other.outcomes.count {
                outcomes[index] = outcomes[index].saturatingAdding(other.outcomes[index])
            }
            latency.merge(other.latency)
            timeToFirstToken.merge(other.timeToFirstToken)
            promptTokens = promptTokens.saturatingAdding(other.promptTokens)
            completionTokens = completionTokens.saturatingAdding(other.completionTokens)
            cost += other.cost
            costSquares += other.costSquares
        }
    }

    /// One finished attempt.
    public struct Sample: Sendable {
        public var outcome: RequestOutcome
        public var latency: Duration?
        public var timeToFirstToken: Duration?
        public var promptTokens: Int
        public var completionTokens: Int
        public var cost: Double

        public init(
            outcome: RequestOutcome,
            latency: Duration? = nil,
            timeToFirstToken: Duration? = nil,
            promptTokens: Int = 0,
            completionTokens: Int = 0,
            cost: Double = 0
        ) {
            self.outcome = outcome
            self.latency = latency
            self.timeToFirstToken = timeToFirstToken
            self.promptTokens = promptTokens
            self.completionTokens = completionTokens
            self.cost = cost
        }
    }

    /// The ring, allocated at the first request: a deployment that has had
    /// no traffic costs nothing here (a thousand routes of four idle
    /// deployments were 1.8 GB when every window was allocated up front).
    private var buckets: [Bucket] = []

    public init() {}

    private static func bucketStart(_ moment: Moment) -> Int64 {
        let seconds = moment.nanoseconds / 1_000_000_000
        return seconds - seconds.modulo(bucketSeconds)
    }

    private static func slot(ofStart start: Int64) -> Int {
        Int((start / bucketSeconds).modulo(Int64(bucketsKept)))
    }

    public mutating func record(_ sample: Sample, at now: Moment) {
        let start = Self.bucketStart(now)
        let slot = Self.slot(ofStart: start)
        if buckets.isEmpty { buckets = (0..<Self.bucketsKept).map { _ in Bucket(start: .min) } }
        if buckets[slot].start != start {
            guard start > buckets[slot].start else { return }  // older than an hour: dropped
            buckets[slot] = Bucket(start: start)
        }
        buckets[slot].requests += 1
        buckets[slot].outcomes[sample.outcome.rawValue] += 1
        if let latency = sample.latency { buckets[slot].latency.record(latency) }
        if let ttft = sample.timeToFirstToken { buckets[slot].timeToFirstToken.record(ttft) }
        buckets[slot].promptTokens = buckets[slot].promptTokens.saturatingAdding(sample.promptTokens)
        buckets[slot].completionTokens = buckets[slot].completionTokens.saturatingAdding(sample.completionTokens)
        buckets[slot].cost += sample.cost
        buckets[slot].costSquares += sample.cost * sample.cost
    }

    /// All buckets that overlap the last `window` before `now`, merged.
    public func aggregate(window: Duration, now: Moment) -> Bucket {
        var total = Bucket(start: Self.bucketStart(now - window))
        for bucket in series(window: window, now: now) { total.merge(bucket) }
        return total
    }

    /// The buckets that start in `[from, to)` (seconds since the epoch), merged —
    /// e.g. one whole minute for a roll-up.
    public func aggregate(fromSecond from: Int64, toSecond to: Int64) -> Bucket {
        var total = Bucket(start: from)
        for bucket in buckets where bucket.start >= from && bucket.start < to {
            total.merge(bucket)
        }
        return total
    }

    /// The buckets that overlap the last `window` before `now`, oldest first;
    /// buckets without traffic are included, empty, so graphs keep their time axis.
    public func series(window: Duration, now: Moment) -> [Bucket] {
        let newest = Self.bucketStart(now)
        let windowBuckets = min(Int64(Self.bucketsKept), max(1, (window.nanosecondsClamped / 1_000_000_000 + Self.bucketSeconds - 1) / Self.bucketSeconds))
        var result: [Bucket] = []
        result.reserveCapacity(Int(windowBuckets))
        var start = newest - (windowBuckets - 1) * Self.bucketSeconds
        while start <= newest {
            if !buckets.isEmpty, buckets[Self.slot(ofStart: start)].start == start {
                result.append(buckets[Self.slot(ofStart: start)])
            } else {
                result.append(Bucket(start: start))
            }
            start += Self.bucketSeconds
        }
        return result
    }
}
