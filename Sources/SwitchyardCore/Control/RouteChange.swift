/// An operator's change to a route, applied to its current plan as a pure
/// function: the new plan, or why the change is refused.
public enum RouteChange: Sendable, Hashable {
    /// New weights for every deployment, summing to 100 %.
    case setWeights(WeightTable)
    /// All traffic to the stable deployment.
    case rollback
    /// The canary (named, or the only other deployment with traffic) becomes
    /// the stable deployment at 100 %.
    case promote(deployment: String?)

    /// The audit log's name for the change.
    public var action: String {
        switch self {
        case .setWeights: "weights"
        case .rollback: "rollback"
        case .promote: "promote"
        }
    }

    /// The plan after this change. `nil` means the change is already in
    /// effect (a second rollback, say): no new revision is made.
    public func applied(to plan: RoutePlan) throws(ChangeError) -> RoutePlan? {
        let route = plan.route
        let table: WeightTable
        var next = route
        switch self {
        case .setWeights(let weights):
            table = weights
        case .rollback:
            table = Self.allOn(route.stable, route)
        case .promote(let named):
            let canary: String
            if let named {
                guard route.deployment(named: named) != nil else { throw .unknownDeployment(named, known: route.deployments.map(\.name)) }
                canary = named
            } else {
                let candidates = route.deployments.filter { $0.name != route.stable && $0.weight > .zero }
                guard candidates.count == 1 else {
                    throw candidates.isEmpty
                        ? .nothingToPromote(route: route.name)
                        : .ambiguousCanary(candidates.map(\.name))
                }
                canary = candidates[0].name
            }
            next.stable = canary
            table = Self.allOn(canary, route)
        }
        let current = try? route.weightTable()
        if current == table, next.stable == route.stable { return nil }
        do {
            next = try next.withWeights(table)
        } catch {
            throw .invalidWeights(error)
        }
        if let problem = next.embeddingMixProblem { throw .mixesEmbeddingModels(problem) }
        do {
            return try RoutePlan(route: next, previous: plan.allocation)
        } catch {
            throw .invalidWeights(error)
        }
    }

    private static func allOn(_ name: String, _ route: Route) -> WeightTable {
        // Every route has at least one deployment and `name` is one of them,
        // so this table is always valid.
        try! WeightTable(route.deployments.map { .init(deployment: $0.name, weight: $0.name == name ? .full : .zero) })
    }
}

/// Why a change was refused.
public enum ChangeError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidWeights(WeightError)
    case unknownDeployment(String, known: [String])
    case nothingToPromote(route: String)
    case ambiguousCanary([String])
    case mixesEmbeddingModels(String)

    public var description: String {
        switch self {
        case .invalidWeights(let error): "\(error)"
        case .unknownDeployment(let name, let known): "no deployment named '\(name)'; this route has \(known.joined(separator: ", "))"
        case .nothingToPromote(let route): "route '\(route)' has no canary with traffic to promote"
        case .ambiguousCanary(let names): "more than one deployment could be the canary (\(names.joined(separator: ", "))); name one with {\"deployment\": …}"
        case .mixesEmbeddingModels(let reason): reason
        }
    }
}
