import Prometheus
import Synchronization
public import SwitchyardCore

/// The live state of one deployment of one route: its circuit breaker and its
/// metrics window. It outlives route revisions — changing weights does not
/// reset a breaker or forget an hour of measurements.
public final class DeploymentRuntime: Sendable {
    public let route: String
    public let deployment: String
    private let breaker: Mutex<CircuitBreaker>
    private let window: Mutex<MetricsWindow>
    /// Made at the first request: registering a deployment's series copies
    /// the registry's families (swift-prometheus), so making them for every
    /// idle deployment at install made starting with 1,000 routes quadratic.
    private let instruments = Mutex<Instruments?>(nil)
    private let registry: PrometheusCollectorRegistry

    struct Instruments: Sendable {
        let outcomes: [Counter]
        let latency: DurationHistogram
        let timeToFirstToken: DurationHistogram
        let promptTokens: Counter
        let completionTokens: Counter
        let cost: Counter
        let breakerState: Gauge
        let saturated: Counter
    }

    init(route: String, deployment: String, policy: CircuitBreaker.Policy, registry: PrometheusCollectorRegistry) {
        self.route = route
        self.deployment = deployment
        self.breaker = Mutex(CircuitBreaker(policy: policy))
        self.window = Mutex(MetricsWindow())
        self.registry = registry
    }

    /// This deployment's Prometheus series, made the first time they are needed.
    private func series() -> Instruments {
        instruments.withLock { made in
            if let made { return made }
            let labels = [("route", route), ("deployment", deployment)]
            // Up to 10 minutes: a long stream's whole latency still lands in a bucket.
            let latencyBuckets: [Duration] = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000, 120_000, 300_000, 600_000]
                .map { .milliseconds($0) }
            let created = Instruments(
                outcomes: RequestOutcome.allCases.map { outcome in
                    registry.makeCounter(descriptor: MetricNames.upstreamRequests, labels: labels + [("outcome", outcome.label)])
                },
                latency: registry.makeDurationHistogram(descriptor: MetricNames.upstreamLatency, labels: labels, buckets: latencyBuckets),
                timeToFirstToken: registry.makeDurationHistogram(descriptor: MetricNames.upstreamTimeToFirstToken, labels: labels, buckets: latencyBuckets),
                promptTokens: registry.makeCounter(descriptor: MetricNames.tokens, labels: labels + [("direction", "input")]),
                completionTokens: registry.makeCounter(descriptor: MetricNames.tokens, labels: labels + [("direction", "output")]),
                cost: registry.makeCounter(descriptor: MetricNames.cost, labels: labels),
                breakerState: registry.makeGauge(descriptor: MetricNames.breakerState, labels: labels),
                saturated: registry.makeCounter(descriptor: MetricNames.upstreamSaturated, labels: labels)
            )
            made = created
            return created
        }
    }

    /// Counts an attempt refused because the gateway's connections to the upstream were all in use.
    func countSaturated() {
        series().saturated.increment()
    }

    /// Asks the breaker whether an attempt may go to this deployment now.
    func acquire(now: Moment) -> CircuitBreaker.Permit {
        breaker.withLock { $0.acquire(now: now) }
    }

    /// Records one finished attempt in the breaker, the window and Prometheus.
    func record(_ sample: MetricsWindow.Sample, breakerOutcome: CircuitBreaker.Outcome, probe: Bool, now: Moment) {
        let newState = breaker.withLock { $0.record(breakerOutcome, probe: probe, now: now) }
        window.withLock { $0.record(sample, at: now) }
        let instruments = series()
        instruments.outcomes[sample.outcome.rawValue].increment()
        if let latency = sample.latency { instruments.latency.record(latency) }
        if let ttft = sample.timeToFirstToken { instruments.timeToFirstToken.record(ttft) }
        if sample.promptTokens > 0 { instruments.promptTokens.increment(by: Int64(sample.promptTokens)) }
        if sample.completionTokens > 0 { instruments.completionTokens.increment(by: Int64(sample.completionTokens)) }
        if sample.cost > 0 { instruments.cost.increment(by: sample.cost) }
        if let newState { instruments.breakerState.set(Self.gaugeValue(newState)) }
    }

    /// Releases a probe or attempt that ended without an upstream verdict.
    func abandon(probe: Bool, now: Moment) {
        breaker.withLock { _ = $0.record(.abandoned, probe: probe, now: now) }
    }

    /// The breaker's current state.
    public var breakerState: CircuitBreaker.State { breaker.withLock { $0.state } }

    /// The merged figures of the last `window`.
    public func aggregate(window duration: Duration, now: Moment) -> MetricsWindow.Bucket {
        window.withLock { $0.aggregate(window: duration, now: now) }
    }

    /// The buckets that start in `[from, to)`, merged.
    public func aggregate(fromSecond from: Int64, toSecond to: Int64) -> MetricsWindow.Bucket {
        window.withLock { $0.aggregate(fromSecond: from, toSecond: to) }
    }

    /// The 10-second buckets of the last `window`, oldest first.
    public func series(window duration: Duration, now: Moment) -> [MetricsWindow.Bucket] {
        window.withLock { $0.series(window: duration, now: now) }
    }

    private static func gaugeValue(_ state: CircuitBreaker.State) -> Double {
        switch state {
        case .closed: 0
        case .halfOpen: 1
        case .open: 2
        }
    }
}
