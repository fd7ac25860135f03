/// Read access to the data plane's per-deployment measurements, for the
/// management API and, later, the rollout gates.
public protocol MetricsSource: Sendable {
    /// The merged figures of the last `window`.
    func aggregate(route: String, deployment: String, window: Duration, now: Moment) -> MetricsWindow.Bucket
    /// The 10-second buckets of the last `window`, oldest first.
    func series(route: String, deployment: String, window: Duration, now: Moment) -> [MetricsWindow.Bucket]
    /// The buckets that start in `[from, to)` (seconds since the epoch), merged.
    func aggregate(route: String, deployment: String, fromSecond: Int64, toSecond: Int64) -> MetricsWindow.Bucket
    /// The deployment's circuit breaker.
    func breakerState(route: String, deployment: String) -> CircuitBreaker.State
    /// Where a recent request went, by the reply's `id` or the client's `x-request-id`.
    func attribution(requestId: String) -> (route: String, deployment: String)?
}

extension MetricsSource {
    public func attribution(requestId: String) -> (route: String, deployment: String)? { nil }
}
