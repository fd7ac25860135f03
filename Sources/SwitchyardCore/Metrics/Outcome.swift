/// How one upstream attempt ended, as the metrics and the gates see it.
public enum RequestOutcome: Int, Hashable, Sendable, CaseIterable {
    case success = 0
    /// The upstream answered 5xx.
    case upstream5xx
    /// The upstream answered 429: its rate limit, not the model's fault.
    case upstream429
    /// A connect, first-token, idle or total timeout.
    case timeout
    /// The provider's content filter refused the prompt or the completion.
    case contentFilter
    /// The request itself was bad (4xx from the upstream other than 429).
    case client4xx
    /// A streamed reply broke off before its end.
    case cutStream
    /// The upstream could not be reached at all.
    case connectFailure

    /// The label used in Prometheus metrics and the API.
    public var label: String {
        switch self {
        case .success: "success"
        case .upstream5xx: "upstream_5xx"
        case .upstream429: "upstream_429"
        case .timeout: "timeout"
        case .contentFilter: "content_filter"
        case .client4xx: "client_4xx"
        case .cutStream: "cut_stream"
        case .connectFailure: "connect_failure"
        }
    }

    /// Whether the outcome counts against the deployment's health.
    public var isDeploymentFailure: Bool {
        switch self {
        case .upstream5xx, .timeout, .cutStream, .connectFailure: true
        case .success, .upstream429, .contentFilter, .client4xx: false
        }
    }
}
