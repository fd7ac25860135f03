/// One entry of the audit log: who changed what, when, from which revision to which.
public struct AuditEvent: Hashable, Sendable, Codable {
    /// Increasing; assigned by the store.
    public var id: Int64
    /// When, in milliseconds since the epoch.
    public var atMilliseconds: Int64
    /// The token name (or `config` for a file applied at start).
    public var actor: String
    public var action: String
    public var route: String?
    public var fromRevision: Int?
    public var toRevision: Int?
    /// A human-readable summary, e.g. `stable=50 canary=50`.
    public var detail: String

    public init(
        id: Int64 = 0,
        atMilliseconds: Int64,
        actor: String,
        action: String,
        route: String?,
        fromRevision: Int?,
        toRevision: Int?,
        detail: String
    ) {
        self.id = id
        self.atMilliseconds = atMilliseconds
        self.actor = actor
        self.action = action
        self.route = route
        self.fromRevision = fromRevision
        self.toRevision = toRevision
        self.detail = detail
    }
}

extension Route {
    /// `stable=90 canary=10`: the split in one line, for audit entries and logs.
    public var splitSummary: String {
        deployments.map { "\($0.name)=\($0.weight)" }.joined(separator: " ")
    }
}
