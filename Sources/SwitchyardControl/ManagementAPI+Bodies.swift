import SwitchyardCore

/// `GET /api/v1/routes`
struct RouteList: Encodable {
    let routes: [RouteWithRollout]

    init(routes: [Route], rollouts: [String: Rollout]) {
        self.routes = routes.map { RouteWithRollout(route: $0, rollout: rollouts[$0.name]) }
    }
}

/// A route as stored, plus the summary of its latest rollout under `rollout`.
struct RouteWithRollout: Encodable {
    let route: Route
    let rollout: Rollout?

    enum CodingKeys: String, CodingKey {
        case rollout
    }

    func encode(to encoder: any Encoder) throws {
        try route.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(rollout.map { RolloutView($0, full: false) }, forKey: .rollout)
    }
}

/// `GET /api/v1/audit`
struct AuditList: Encodable {
    let events: [AuditEvent]
}

/// The reply to weights, rollback and promote.
struct ChangeReply: Encodable {
    let route: Route
    let revision: Int
    /// `false` when the change was already in effect (no new revision).
    let changed: Bool
    /// How long the change took on the server, durable commit included.
    let serverTimeMs: Double
}

/// `GET /api/v1/routes/{route}/metrics?window=5m`
struct RouteMetrics: Encodable {
    var route: String
    var revision: Int
    var windowSeconds: Int
    var deployments: [DeploymentMetrics]

    init(plan: RoutePlan, window: Duration, metrics: any MetricsSource, now: Moment) {
        route = plan.route.name
        revision = plan.route.revision
        windowSeconds = Int(window.secondsDouble)
        deployments = plan.route.deployments.map { deployment in
            DeploymentMetrics(
                deployment: deployment,
                total: metrics.aggregate(route: plan.route.name, deployment: deployment.name, window: window, now: now),
                series: metrics.series(route: plan.route.name, deployment: deployment.name, window: window, now: now),
                breaker: metrics.breakerState(route: plan.route.name, deployment: deployment.name)
            )
        }
    }
}

extension RouteMetrics {
    /// Figures from stored per-minute roll-ups (windows beyond an hour); the
    /// series has one point per minute.
    init(plan: RoutePlan, window: Duration, rollups: [MetricRollup], metrics: any MetricsSource) {
        route = plan.route.name
        revision = plan.route.revision
        windowSeconds = Int(window.secondsDouble)
        deployments = plan.route.deployments.map { deployment in
            let minutes = rollups.filter { $0.deployment == deployment.name }.map(\.figures)
            var total = MetricsWindow.Bucket(start: minutes.first?.start ?? 0)
            for minute in minutes { total.merge(minute) }
            return DeploymentMetrics(
                deployment: deployment,
                total: total,
                series: minutes,
                breaker: metrics.breakerState(route: plan.route.name, deployment: deployment.name)
            )
        }
    }
}

struct DeploymentMetrics: Encodable {
    let name: String
    let modelVersion: String
    let weight: Double
    let breaker: String
    let requests: Int
    /// Attempts by outcome label (`success`, `upstream_5xx`, …).
    let outcomes: [String: Int]
    /// Deployment failures (5xx, timeouts, cut streams, connect failures) per attempt, in percent.
    let errorRatePercent: Double?
    let latencyMs: Quantiles?
    let timeToFirstTokenMs: Quantiles?
    let promptTokens: Int
    let completionTokens: Int
    let cost: Double
    let costPerRequest: Double?
    let series: [Point]

    struct Quantiles: Encodable {
        let p50: Double
        let p95: Double
        let p99: Double

        init?(_ histogram: LatencyHistogram) {
            guard let p50 = histogram.quantileMilliseconds(0.5), let p95 = histogram.quantileMilliseconds(0.95),
                let p99 = histogram.quantileMilliseconds(0.99)
            else { return nil }
            self.p50 = p50
            self.p95 = p95
            self.p99 = p99
        }
    }

    /// One 10-second bucket.
    struct Point: Encodable {
        let start: Int64
        let requests: Int
        let failures: Int
        let p95Ms: Double?
        let ttftP95Ms: Double?
    }

    init(deployment: Deployment, total: MetricsWindow.Bucket, series: [MetricsWindow.Bucket], breaker: CircuitBreaker.State) {
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
        self.series = series.map {
            Point(
                start: $0.start, requests: $0.requests, failures: $0.deploymentFailures, p95Ms: $0.latency.quantileMilliseconds(0.95),
                ttftP95Ms: $0.timeToFirstToken.quantileMilliseconds(0.95)
            )
        }
    }
}

/// `GET /api/v1/lifecycle`: every model version in use, soonest retirement first.
struct LifecycleView: Encodable {
    struct Item: Encodable {
        let provider: String
        let model: String
        let version: String
        let deploymentType: String
        let phase: String
        let deprecation: String?
        let legacy: String?
        let retirement: String?
        let retirementNoEarlierThan: Bool
        let autoUpgrade: String?
        /// Seconds until the retirement date; negative once past.
        let secondsLeft: Int64?
        let replacement: String?
        let source: String?
        let history: [LifecycleCatalog.DateChange]
        let deployments: [LifecycleReport.Use]
    }

    let catalog: String
    let entries: [Item]

    init(_ report: LifecycleReport) {
        catalog = report.catalogSource
        entries = report.items.map { item in
            Item(
                provider: item.provider.rawValue, model: item.model, version: item.version, deploymentType: item.deploymentType.rawValue,
                phase: item.phase.rawValue, deprecation: item.dates?.deprecation?.description, legacy: item.dates?.legacy?.description,
                retirement: item.dates?.retirement?.description, retirementNoEarlierThan: item.dates?.retirementNoEarlierThan ?? false,
                autoUpgrade: item.dates?.autoUpgrade?.description,
                secondsLeft: item.timeLeft.map { $0.nanosecondsClamped / 1_000_000_000 },
                replacement: item.replacement.map { "\($0.model)@\($0.version)" }, source: item.source, history: item.history,
                deployments: item.uses
            )
        }
    }
}

/// `GET /api/v1/routes/{route}/migration`
struct MigrationView: Encodable {
    let route: String
    let replacing: String
    let reason: String
    let deployment: Deployment
    let plan: JSONValue

    init(_ proposal: MigrationProposal) {
        route = proposal.route
        replacing = proposal.replacing
        reason = proposal.reason
        deployment = proposal.deployment
        plan = proposal.plan
    }
}
