/// What the rollout engine needs from the data plane besides its metrics:
/// synthetic health checks and shadow traffic. The gateway provides it.
public protocol RolloutDataPlane: MetricsSource {
    /// Sends `check.requests` real chat requests straight to `deployment`'s
    /// upstream (no client traffic, no route metrics); passes when all succeed.
    func healthCheck(route: Route, deployment: String, check: RolloutPlan.HealthCheck) async -> HealthCheckResult
    /// Starts (or with `nil`, stops) mirroring `route`'s traffic.
    func setShadow(route: String, _ settings: ShadowSettings?)
    /// What shadowing `route` has measured since it started; `nil` if it never ran.
    func shadowReport(route: String) -> ShadowReport?
    /// The request/reply pairs a shadow with `capture` kept, newest first.
    func shadowSamples(route: String) -> [ShadowSample]
    /// The rollouts as they now stand (active and finished), for the data
    /// plane's gauges; called after every change.
    func rolloutsChanged(_ rollouts: [Rollout])
}

extension RolloutDataPlane {
    public func rolloutsChanged(_ rollouts: [Rollout]) {}
}

public struct HealthCheckResult: Hashable, Sendable {
    public var passed: Bool
    /// e.g. "3 of 3 requests succeeded, slowest 212 ms" or the first failure.
    public var detail: String

    public init(passed: Bool, detail: String) {
        self.passed = passed
        self.detail = detail
    }
}

/// A shadow rollout as the gateway carries it out.
public struct ShadowSettings: Hashable, Sendable {
    public var deployment: String
    /// The share of requests mirrored, chosen by request (not by user).
    public var sample: Weight
    public var budget: RolloutPlan.Budget
    /// Mirrored requests waiting beyond this are dropped, never queued without bound.
    public var queueCapacity: Int
    /// How many mirrored requests run at once.
    public var concurrency: Int
    /// How many compared pairs to keep for operators (0: none).
    public var capture: Int
    /// An A/B experiment's two variants: each sampled request is sent to the
    /// one that did not answer it (and `deployment` is unused).
    public var pairs: [String]

    public init(
        deployment: String, sample: Weight, budget: RolloutPlan.Budget, queueCapacity: Int = 256, concurrency: Int = 4, capture: Int = 0, pairs: [String] = []
    ) {
        self.capture = capture
        self.pairs = pairs
        self.deployment = deployment
        self.sample = sample
        self.budget = budget
        self.queueCapacity = queueCapacity
        self.concurrency = concurrency
    }
}
