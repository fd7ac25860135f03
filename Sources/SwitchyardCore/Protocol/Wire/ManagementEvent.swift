import Foundation

/// The kinds of server-sent event on `GET /api/v1/events`, by their wire names.
public enum ManagementEventKind: String, CaseIterable, Sendable {
    /// First on every stream: the routes and their rollouts (`RouteListView`).
    case snapshot
    /// A route's new revision (`Route`).
    case route
    /// `{"route": name}`.
    case routeDeleted = "route-deleted"
    /// One audit entry (`AuditEvent`).
    case audit
    /// A rollout's new state (`RolloutView`, latest verdicts only).
    case rollout
    /// A retirement date crossed a reminder threshold (`LifecycleNotice`).
    case lifecycle
    /// Every second while anyone listens: per route, the last minute (`MetricsTick`).
    case metrics
    /// The server dropped this subscriber for falling behind; reconnect.
    case dropped
}

/// `lifecycle` events: a model version in use is `days` from retirement.
public struct LifecycleNotice: Codable, Sendable, Hashable {
    public let days: Int
    /// Deduplicates notices: the version and threshold.
    public let key: String
    public let message: String

    public init(days: Int, key: String, message: String) {
        self.days = days
        self.key = key
        self.message = message
    }
}

/// `metrics` events: per route, each deployment's last minute.
public struct MetricsTick: Codable, Sendable {
    public struct Deployment: Codable, Sendable {
        public let name: String
        public let weight: Double
        public let requests: Int
        public let errorRatePercent: Double?
        public let p95Ms: Double?
        public let breaker: String

        public init(name: String, weight: Double, requests: Int, errorRatePercent: Double?, p95Ms: Double?, breaker: String) {
            self.name = name
            self.weight = weight
            self.requests = requests
            self.errorRatePercent = errorRatePercent
            self.p95Ms = p95Ms
            self.breaker = breaker
        }
    }

    public struct Route: Codable, Sendable {
        public let route: String
        public let revision: Int
        public let deployments: [Deployment]

        public init(route: String, revision: Int, deployments: [Deployment]) {
            self.route = route
            self.revision = revision
            self.deployments = deployments
        }
    }

    public let atMs: Int64
    public let routes: [Route]

    public init(atMs: Int64, routes: [Route]) {
        self.atMs = atMs
        self.routes = routes
    }
}

/// `{"route": name}` for `route-deleted`.
public struct RouteDeletedNotice: Codable, Sendable, Hashable {
    public let route: String

    public init(route: String) {
        self.route = route
    }
}

/// One event of the stream, decoded: what ctl and the console switch over,
/// exhaustively, so a kind the server sends cannot be dropped unnoticed.
public enum ManagementEvent: Sendable {
    case snapshot(RouteListView)
    case route(Route)
    case routeDeleted(String)
    case audit(AuditEvent)
    case rollout(RolloutView)
    case lifecycle(LifecycleNotice)
    case metrics(MetricsTick)
    case dropped(String)

    public var kind: ManagementEventKind {
        switch self {
        case .snapshot: .snapshot
        case .route: .route
        case .routeDeleted: .routeDeleted
        case .audit: .audit
        case .rollout: .rollout
        case .lifecycle: .lifecycle
        case .metrics: .metrics
        case .dropped: .dropped
        }
    }

    /// Decodes one event; `nil` for a kind this build does not know or a body that is not its shape.
    public init?(name: String, data: [UInt8]) {
        guard let kind = ManagementEventKind(rawValue: name) else { return nil }
        let bytes = Data(data)
        let decoder = JSONDecoder()
        func decode<Body: Decodable>(_ type: Body.Type) -> Body? { try? decoder.decode(type, from: bytes) }
        switch kind {
        case .snapshot: guard let value = decode(RouteListView.self) else { return nil }; self = .snapshot(value)
        case .route: guard let value = decode(Route.self) else { return nil }; self = .route(value)
        case .routeDeleted: guard let value = decode(RouteDeletedNotice.self) else { return nil }; self = .routeDeleted(value.route)
        case .audit: guard let value = decode(AuditEvent.self) else { return nil }; self = .audit(value)
        case .rollout: guard let value = decode(RolloutView.self) else { return nil }; self = .rollout(value)
        case .lifecycle: guard let value = decode(LifecycleNotice.self) else { return nil }; self = .lifecycle(value)
        case .metrics: guard let value = decode(MetricsTick.self) else { return nil }; self = .metrics(value)
        case .dropped: self = .dropped(String(decoding: data, as: UTF8.self))
        }
    }
}
