import Foundation

// What the management API answers, as its clients (ctl, the console) read it.

/// `GET /lifecycle`.
public struct LifecycleListView: Decodable, Sendable {
    public struct Entry: Decodable, Sendable {
        public struct Use: Decodable, Sendable {
            public let route: String
            public let deployment: String
            public let weight: Double
        }

        public let provider: String
        public let model: String
        public let version: String
        public let deploymentType: String
        public let phase: String
        public let retirement: String?
        public let retirementNoEarlierThan: Bool
        public let secondsLeft: Int64?
        public let replacement: String?
        public let deployments: [Use]
    }

    public let catalog: String
    public let entries: [Entry]
}

/// The parts of `GET /routes/{route}/metrics` that ctl shows.
public struct RouteMetricsView: Decodable, Sendable {
    public struct Deployment: Decodable, Sendable {
        public struct Quantiles: Decodable, Sendable {
            public let p50: Double
            public let p95: Double
            public let p99: Double
        }

        public let name: String
        public let requests: Int
        public let errorRatePercent: Double?
        public let latencyMs: Quantiles?
        public let timeToFirstTokenMs: Quantiles?
        public let costPerRequest: Double?
        public let breaker: String
        public let promptTokens: Int?
        public let completionTokens: Int?

        /// Input plus output tokens per request, when there were requests.
        public var tokensPerRequest: Double? {
            guard requests > 0, let promptTokens, let completionTokens else { return nil }
            return (Double(promptTokens) + Double(completionTokens)) / Double(requests)
        }
        /// 10-second points, oldest first (absent in older servers' replies).
        public let series: [Point]?

        public struct Point: Decodable, Sendable {
            public let start: Int64
            public let requests: Int
            public let failures: Int
            public let p95Ms: Double?
            /// Absent in older servers' replies.
            public let ttftP95Ms: Double?
        }
    }

    public let windowSeconds: Int
    public let deployments: [Deployment]
}

/// `GET /routes` and `GET /audit` bodies.
public struct RouteListView: Decodable, Sendable {
    public let routes: [Route]
    /// The latest rollout of each route that has had one, by route name.
    public let rollouts: [String: RolloutView]

    enum CodingKeys: String, CodingKey {
        case routes
    }

    private struct RolloutHolder: Decodable {
        let name: String
        let rollout: RolloutView?
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        routes = try container.decode([Route].self, forKey: .routes)
        let holders = (try? container.decode([RolloutHolder].self, forKey: .routes)) ?? []
        var rollouts: [String: RolloutView] = [:]
        for holder in holders {
            if let rollout = holder.rollout { rollouts[holder.name] = rollout }
        }
        self.rollouts = rollouts
    }

    public init(routes: [Route], rollouts: [String: RolloutView] = [:]) {
        self.routes = routes
        self.rollouts = rollouts
    }
}

public struct AuditListView: Decodable, Sendable {
    public let events: [AuditEvent]
}

/// The reply to weights, rollback and promote.
public struct ChangeView: Decodable, Sendable {
    public let route: Route
    public let revision: Int
    public let changed: Bool
    public let serverTimeMs: Double
}
