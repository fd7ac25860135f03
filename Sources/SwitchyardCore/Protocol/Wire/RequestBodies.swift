/// `GET /api/v1/whoami`: the caller's token name and role.
public struct IdentityView: Codable, Sendable, Hashable {
    public let name: String
    public let role: String

    public init(name: String, role: String) {
        self.name = name
        self.role = role
    }
}

/// The body of `PUT /api/v1/routes/{route}/weights`: percent per deployment.
public struct WeightsRequest: Codable, Sendable, Hashable {
    public let weights: [String: Double]

    public init(weights: [String: Double]) {
        self.weights = weights
    }
}

/// The body of `POST /api/v1/routes/{route}/promote`; without a deployment,
/// the only canary with traffic is promoted.
public struct PromoteRequest: Codable, Sendable, Hashable {
    public let deployment: String?

    public init(deployment: String?) {
        self.deployment = deployment
    }
}

/// What an operator can do to a running rollout: `POST /api/v1/routes/{route}/{operation}`.
public enum RolloutOperation: String, CaseIterable, Codable, Sendable {
    case pause
    case resume
    case abort
}

/// The body of a rollout operation: why, for the audit log.
public struct RolloutOperationRequest: Codable, Sendable, Hashable {
    public let reason: String?

    public init(reason: String?) {
        self.reason = reason
    }
}
