/// The reply to weights, rollback and promote.
public struct ChangeView: Codable, Sendable {
    public let route: Route
    public let revision: Int
    /// `false` when the change was already in effect (no new revision).
    public let changed: Bool
    /// How long the change took on the server, durable commit included.
    public let serverTimeMs: Double

    public init(route: Route, changed: Bool, serverTimeMs: Double) {
        self.route = route
        revision = route.revision
        self.changed = changed
        self.serverTimeMs = serverTimeMs
    }
}

/// `GET /api/v1/audit` and `GET /api/v1/routes/{route}/audit`.
public struct AuditListView: Codable, Sendable {
    public let events: [AuditEvent]

    public init(events: [AuditEvent]) {
        self.events = events
    }
}

/// The reply to `PUT /api/v1/routes` (a routes file applied as the desired state).
public struct ApplyView: Codable, Sendable, Hashable {
    public var created: [String] = []
    public var updated: [String] = []
    public var deleted: [String] = []
    public var unchanged: [String] = []

    public init(created: [String] = [], updated: [String] = [], deleted: [String] = [], unchanged: [String] = []) {
        self.created = created
        self.updated = updated
        self.deleted = deleted
        self.unchanged = unchanged
    }

    /// "created 1 (a), updated 0, deleted 0, unchanged 2".
    public var summary: String {
        func list(_ names: [String]) -> String { names.isEmpty ? "" : " (\(names.joined(separator: ", ")))" }
        return "created \(created.count)\(list(created)), updated \(updated.count)\(list(updated)), deleted \(deleted.count)\(list(deleted)), unchanged \(unchanged.count)"
    }
}

/// `GET /api/v1/routes/{route}/migration`: a proposed replacement deployment and canary plan.
public struct MigrationView: Codable, Sendable {
    public let route: String
    public let replacing: String
    public let reason: String
    public let deployment: Deployment
    public let plan: JSONValue

    public init(_ proposal: MigrationProposal) {
        route = proposal.route
        replacing = proposal.replacing
        reason = proposal.reason
        deployment = proposal.deployment
        plan = proposal.plan
    }
}
