/// `GET /api/v1/routes/{route}/metrics?window=5m`: per deployment, the
/// window's aggregates and its 10-second (or, past an hour, 1-minute) series.
public struct RouteMetricsView: Codable, Sendable {
    public struct Deployment: Codable, Sendable {
        public struct Quantiles: Codable, Sendable {
            public let p50: Double
            public let p95: Double
            public let p99: Double

            public init?(_ histogram: LatencyHistogram) {
                guard let p50 = histogram.quantileMilliseconds(0.5), let p95 = histogram.quantileMilliseconds(0.95),
                    let p99 = histogram.quantileMilliseconds(0.99)
                else { return nil }
                self.p50 = p50
                self.p95 = p95
                self.p99 = p99
            }
        }

        /// One bucket of the series.
        public struct Point: Codable, Sendable {
            public let start: Int64
            public let requests: Int
            public let failures: Int
            public let p95Ms: Double?
            public let ttftP95Ms: Double?

            public init(_ bucket: MetricsWindow.Bucket) {
                start = bucket.start
                requests = bucket.requests
                failures = bucket.deploymentFailures
                p95Ms = bucket.latency.quantileMilliseconds(0.95)
                ttftP95Ms = bucket.timeToFirstToken.quantileMilliseconds(0.95)
            }
        }

        public let name: String
        public let modelVersion: String
        public let weight: Double
        public let breaker: String
        public let requests: Int
        /// Attempts by outcome label (`success`, `upstream_5xx`, …).
        public let outcomes: [String: Int]
        /// Deployment failures (5xx, timeouts, cut streams, connect failures) per attempt, in percent.
        public let errorRatePercent: Double?
        public let latencyMs: Quantiles?
        public let timeToFirstTokenMs: Quantiles?
        public let promptTokens: Int
        public let completionTokens: Int
        public let cost: Double
        public let costPerRequest: Double?
        /// Oldest first.
        public let series: [Point]

        /// Input plus output tokens per request, when there were requests.
        public var tokensPerRequest: Double? {
            guard requests > 0 else { return nil }
            return (Double(promptTokens) + Double(completionTokens)) / Double(requests)
        }

        public init(deployment: SwitchyardCore.Deployment, total: MetricsWindow.Bucket, series: [MetricsWindow.Bucket], breaker: CircuitBreaker.State) {
            name = deployment.name
            modelVersion = deployment.modelVersion
            weight = deployment.weight.percent
            self.breaker = breaker.name
            requests = total.requests
            outcomes = Dictionary(uniqueKeysWithValues: RequestOutcome.allCases.map { ($0.label, total.count($0)) })
            errorRatePercent = total.requests > 0 ? Double(total.deploymentFailures) * 100 / Double(total.requests) : nil
            latencyMs = Quantiles(total.latency)
            timeToFirstTokenMs = Quantiles(total.timeToFirstToken)
            promptTokens = total.promptTokens
            completionTokens = total.completionTokens
            cost = total.cost
            costPerRequest = total.requests > 0 ? total.cost / Double(total.requests) : nil
            self.series = series.map(Point.init)
        }
    }

    public let route: String
    public let revision: Int
    public let windowSeconds: Int
    public let deployments: [Deployment]

    public init(route: String, revision: Int, windowSeconds: Int, deployments: [Deployment]) {
        self.route = route
        self.revision = revision
        self.windowSeconds = windowSeconds
        self.deployments = deployments
    }
}
