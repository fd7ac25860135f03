/// Durable state behind the control plane. Implementations: SQLite (embedded)
/// and, for fleets, PostgreSQL. A commit is all or nothing and durable when it
/// returns.
public protocol StateStore: Sendable {
    /// Every current route with its bucket allocation, and the fingerprint of
    /// the config file applied last.
    func load() async throws -> StoredState

    /// Writes new route revisions, deletions and audit entries in one
    /// transaction. Each write names the revision it expects to replace
    /// (`nil`: the route must not exist); any mismatch fails the whole commit
    /// with `StoreError.conflict` and writes nothing.
    func commit(_ commit: StoreCommit) async throws -> [AuditEvent]

    /// Audit entries, newest first.
    func auditEvents(route: String?, limit: Int, beforeID: Int64?) async throws -> [AuditEvent]

    /// Keeps one quality score; returns it with its id.
    func recordFeedback(_ feedback: Feedback) async throws -> Feedback

    /// Quality scores for `route` from `sinceMilliseconds` on, oldest first.
    func feedback(route: String, sinceMilliseconds: Int64) async throws -> [Feedback]

    /// Inserts or replaces one rollout's record, if the stored one is still at
    /// `rollout.revision - 1` (a new one: at revision 1); otherwise
    /// `StoreError.conflict`, so two processes never overwrite each other's step.
    func saveRollout(_ rollout: StoredRollout) async throws

    /// Takes or renews the lease `key` for `holder` until `untilMilliseconds`:
    /// granted when it is free, expired at `nowMilliseconds`, or already
    /// `holder`'s. Returns whether `holder` has it now.
    func acquireLease(_ key: String, holder: String, nowMilliseconds: Int64, untilMilliseconds: Int64) async throws -> Bool

    /// Rollouts, newest first; `route` and `activeOnly` narrow the list.
    func rollouts(route: String?, activeOnly: Bool, limit: Int) async throws -> [StoredRollout]

    /// Keeps one gate evaluation of a rollout, however long the rollout runs.
    func appendEvaluation(rolloutID: String, atMilliseconds: Int64, document: String) async throws

    /// A rollout's evaluations, newest first; `beforeID` pages.
    func evaluations(rolloutID: String, limit: Int, beforeID: Int64?) async throws -> [StoredEvaluation]

    /// Adds per-minute roll-ups (merging with what is stored for the same
    /// route, deployment and minute) and forgets minutes before `pruneBefore`.
    func writeRollups(_ rollups: [MetricRollup], pruneBefore: Int64) async throws

    /// One route's roll-ups from `sinceMinute` on, oldest first.
    func rollups(route: String, sinceMinute: Int64) async throws -> [MetricRollup]

    /// Replaces `replica`'s own figures for the given minutes — the fleet's
    /// live view, rewritten every few seconds — and forgets minutes before `pruneBefore`.
    func writeReplicaRollups(replica: String, _ rollups: [MetricRollup], pruneBefore: Int64) async throws

    /// Every replica's live figures from `sinceMinute` on, summed per route,
    /// deployment and minute: what the whole fleet served.
    func fleetRollups(sinceMinute: Int64) async throws -> [MetricRollup]

    /// A small named value the control plane keeps (the catalog override,
    /// which lifecycle warnings were given); `nil` when unset.
    func setting(_ key: String) async throws -> String?

    /// Sets (or, with `nil`, clears) a named value.
    func setSetting(_ key: String, _ value: String?) async throws
}

/// A rollout as the store keeps it: indexed fields and the encoded whole.
public struct StoredRollout: Sendable, Hashable {
    public var id: String
    public var route: String
    public var active: Bool
    public var startedMilliseconds: Int64
    /// Bumped by every save: 1 for a new rollout.
    public var revision: Int
    /// The rollout, encoded by the control plane (JSON).
    public var document: String

    public init(id: String, route: String, active: Bool, startedMilliseconds: Int64, revision: Int = 1, document: String) {
        self.id = id
        self.route = route
        self.active = active
        self.startedMilliseconds = startedMilliseconds
        self.revision = revision
        self.document = document
    }
}

/// A store several processes share (a fleet on PostgreSQL): it tells each
/// of them which routes the others changed, so they reload at once.
public protocol SharedStateStore: StateStore {
    /// Names of routes changed by any process, as their commits land; `"*"`
    /// when changes may have been missed (e.g. after reconnecting).
    func changes() -> AsyncStream<String>

    /// Feedback stored without a deployment since `sinceMilliseconds`, newest
    /// first (ids no replica knows cannot hold back newer feedback): the
    /// replica that received it did not serve the request it names.
    func unattributedFeedback(sinceMilliseconds: Int64, limit: Int) async throws -> [Feedback]

    /// Credits stored feedback to the route and deployment that served its request.
    func attributeFeedback(_ attributions: [FeedbackAttribution]) async throws
}

/// Where the request a stored feedback names was served.
public struct FeedbackAttribution: Sendable, Hashable {
    public var feedbackID: Int64
    public var route: String
    public var deployment: String

    public init(feedbackID: Int64, route: String, deployment: String) {
        self.feedbackID = feedbackID
        self.route = route
        self.deployment = deployment
    }
}

/// One stored gate evaluation: its id (for paging) and the encoded evaluation.
public struct StoredEvaluation: Sendable, Hashable {
    public var id: Int64
    public var atMilliseconds: Int64
    public var document: String

    public init(id: Int64, atMilliseconds: Int64, document: String) {
        self.id = id
        self.atMilliseconds = atMilliseconds
        self.document = document
    }
}

/// What the store holds now.
public struct StoredState: Sendable {
    public var plans: [RoutePlan]
    /// The SHA-256 of the last config file applied, hex.
    public var configFingerprint: String?
    /// The last revision of each deleted route, so a route created again under
    /// the same name continues its numbering and its history stays whole.
    public var deletedRouteRevisions: [String: Int]
    /// Stored routes that cannot be read back or no longer validate, with why:
    /// one bad row does not hide the others.
    public var refusedRoutes: [String: String]

    public init(plans: [RoutePlan], configFingerprint: String?, deletedRouteRevisions: [String: Int] = [:], refusedRoutes: [String: String] = [:]) {
        self.plans = plans
        self.configFingerprint = configFingerprint
        self.deletedRouteRevisions = deletedRouteRevisions
        self.refusedRoutes = refusedRoutes
    }
}

/// One atomic write.
public struct StoreCommit: Sendable {
    public struct Write: Sendable {
        public var plan: RoutePlan
        public var expectedRevision: Int?

        public init(plan: RoutePlan, expectedRevision: Int?) {
            self.plan = plan
            self.expectedRevision = expectedRevision
        }
    }

    public var writes: [Write]
    /// Route names to delete, with the revision each is expected to be at.
    public var deletions: [(route: String, expectedRevision: Int)]
    /// Entries to append; the store assigns their ids.
    public var audit: [AuditEvent]
    /// Set when this commit applies a config file.
    public var configFingerprint: String?
    /// Settings written in the same transaction (`nil` removes one). In a
    /// fleet the commit announces them, so other replicas reload at once.
    public var settings: [(key: String, value: String?)]
    /// Rollouts saved in the same transaction, each checked against its
    /// stored revision as ``StateStore/saveRollout(_:)`` does: a rollout that
    /// ends by changing its route is stored ended exactly when the route is.
    public var rollouts: [StoredRollout]

    public init(
        writes: [Write] = [], deletions: [(route: String, expectedRevision: Int)] = [], audit: [AuditEvent], configFingerprint: String? = nil,
        settings: [(key: String, value: String?)] = [], rollouts: [StoredRollout] = []
    ) {
        self.writes = writes
        self.deletions = deletions
        self.audit = audit
        self.configFingerprint = configFingerprint
        self.settings = settings
        self.rollouts = rollouts
    }
}

public enum StoreError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The route is at another revision than the write expected.
    case conflict(route: String, expected: Int?, actual: Int?)
    /// The stored data cannot be read back (a damaged or foreign file).
    case corrupt(String)
    /// The database cannot be reached or refused the operation.
    case unreachable(String)
    /// The write was sent but no answer came back: it may or may not have landed.
    case outcomeUnknown(String)

    public var description: String {
        switch self {
        case .conflict(let route, let expected, let actual):
            "route '\(route)' is at revision \(actual.map(String.init) ?? "none"), not \(expected.map(String.init) ?? "none")"
        case .corrupt(let reason):
            "the state store cannot be read: \(reason)"
        case .unreachable(let reason):
            "the state store is unavailable: \(reason)"
        case .outcomeUnknown(let reason):
            "the state store did not confirm the write: \(reason)"
        }
    }
}
