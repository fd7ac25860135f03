/// The name clients send as `model` (OpenAI) or as the deployment in the path
/// (Azure), and the pinned deployments that share its traffic.
public struct Route: Hashable, Sendable {
    public enum Environment: String, Hashable, Sendable, CaseIterable {
        case production
        case staging
        case development
    }

    public var name: String
    public var environment: Environment
    /// Where rollback sends all traffic.
    public var stable: String
    /// Whether the `x-switchyard-deployment` request header may pin a deployment.
    public var allowPinning: Bool
    /// Whether traffic may be split between different embedding models on
    /// purpose (their vectors cannot share an index; see `embeddingMixProblem`).
    public var allowMixedEmbeddings = false
    /// Whether this route's access-log lines carry the request and reply
    /// bodies. Off unless the route says so: they hold user content.
    public var logContent = false
    /// In declaration order; their weights sum to exactly 100 %.
    public var deployments: [Deployment]
    /// Bumped by every change; starts at 1.
    public var revision: Int
    /// Rollout plans declared with the route, by name, for `POST /rollouts {"plan": NAME}`.
    public var plans: [String: JSONValue]

    public init(
        name: String,
        environment: Environment = .production,
        stable: String,
        allowPinning: Bool = false,
        deployments: [Deployment],
        revision: Int = 1,
        plans: [String: JSONValue] = [:]
    ) {
        self.name = name
        self.environment = environment
        self.stable = stable
        self.allowPinning = allowPinning
        self.deployments = deployments
        self.revision = revision
        self.plans = plans
    }

    /// The deployment with this name, if the route has one.
    public func deployment(named name: String) -> Deployment? {
        deployments.first { $0.name == name }
    }

    /// The current weights, validated.
    public func weightTable() throws(WeightError) -> WeightTable {
        try WeightTable(deployments.map { WeightTable.Entry(deployment: $0.name, weight: $0.weight) })
    }

    /// The most deployments one route may have.
    public static let maximumDeployments = 256

    /// Checks what must hold of every route: distinct deployment names, a known
    /// stable deployment, weights summing to 100 %, pinned versions in production,
    /// at most ``maximumDeployments``, upstream URLs with a host and a valid port.
    public func validate() throws(RouteError) {
        guard !name.isEmpty else { throw .invalid(route: name, reason: "a route needs a name") }
        guard deployments.count <= Self.maximumDeployments else {
            throw .invalid(route: name, reason: "\(deployments.count) deployments is more than the \(Self.maximumDeployments) a route may have")
        }
        for deployment in deployments {
            if let problem = Upstream.urlProblem(deployment.upstream.url) {
                throw .invalid(route: name, reason: "deployment '\(deployment.name)': \(problem)")
            }
        }
        do {
            _ = try weightTable()
        } catch {
            throw .weights(route: name, error)
        }
        guard deployment(named: stable) != nil else {
            throw .invalid(route: name, reason: "stable deployment '\(stable)' is not one of the route's deployments")
        }
        if let problem = embeddingMixProblem {
            throw .invalid(route: name, reason: problem)
        }
        if environment == .production {
            for deployment in deployments where !VersionPin.isExact(deployment.version) {
                throw .invalid(
                    route: name,
                    reason: "deployment '\(deployment.name)' uses version '\(deployment.version)': production routes need an exact pinned version (a date such as 2024-11-20), because an auto-updating version changes behaviour without a deploy"
                )
            }
        }
    }

    /// Why this split is refused, if it is: embedding deployments of different
    /// models (or versions) both carrying traffic. A vector from one model
    /// means nothing next to another's, so a retrieval index filled by a split
    /// is silently broken; an embeddings route moves 0/100 (blue-green, or a
    /// shadow to compare) unless `allowMixedEmbeddings` says mixing is meant.
    /// Embedding deployments are those whose model name says `embedding`.
    public var embeddingMixProblem: String? {
        guard !allowMixedEmbeddings else { return nil }
        let serving = deployments.filter { $0.weight > .zero && $0.model.lowercased().contains("embedding") }
        let models = Set(serving.map(\.modelVersion))
        guard models.count > 1 else { return nil }
        return "deployments \(serving.map { "'\($0.name)'" }.joined(separator: ", ")) would split traffic between embedding models \(models.sorted().joined(separator: " and ")): vectors from different models cannot be compared or kept in one index, so an embeddings route's weights must be 0/100 (blue-green, or a shadow to compare); set allowMixedEmbeddings: true on the route if mixing is intended"
    }

    /// The same route with new weights and the next revision number.
    public func withWeights(_ table: WeightTable) throws(WeightError) -> Route {
        for entry in table.entries where deployment(named: entry.deployment) == nil {
            throw .unknownDeployment(entry.deployment)
        }
        var next = self
        for index in next.deployments.indices {
            guard let weight = table[next.deployments[index].name] else {
                throw .missingDeployment(next.deployments[index].name)
            }
            next.deployments[index].weight = weight
        }
        next.revision = next.revision.saturatingAdding(1)
        return next
    }
}

/// Why a route was refused.
public enum RouteError: Error, Equatable, Sendable, CustomStringConvertible {
    case weights(route: String, WeightError)
    case invalid(route: String, reason: String)

    public var description: String {
        switch self {
        case .weights(let route, let error): "route '\(route)': \(error)"
        case .invalid(let route, let reason): "route '\(route)': \(reason)"
        }
    }
}

/// What counts as an exact, pinned model version.
public enum VersionPin {
    /// Words providers use for a moving target rather than a fixed version.
    static let floating: Set<String> = ["latest", "auto", "auto-update", "autoupdate", "default", "*", ""]

    /// `true` for a fixed version such as `2024-11-20` or `0613`; `false` for
    /// `latest`, `auto` and the like.
    public static func isExact(_ version: String) -> Bool {
        !floating.contains(version.lowercased()) && !version.contains("*")
    }
}
