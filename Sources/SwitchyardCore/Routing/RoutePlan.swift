/// A route compiled for the hot path: its revision, its bucket allocation and
/// its failover order. Immutable; a change produces a new plan that replaces
/// the old one atomically.
public struct RoutePlan: Sendable {
    public let route: Route
    public let allocation: BucketAllocation
    /// For each index in `allocation.deployments`, the index in `route.deployments`.
    @usableFromInline let deploymentIndexOfOwner: [Int]
    /// Deployments with traffic, by priority (lower first), then weight (higher first).
    public let failoverOrder: [Int]
    /// Deployments at weight 0, by priority: tried only when a retired
    /// deployment with no replacement leaves its traffic nowhere else to go.
    public let standbyOrder: [Int]

    /// Compiles `route`, keeping `previous`'s bucket ownership where weights allow.
    public init(route: Route, previous: BucketAllocation? = nil) throws(WeightError) {
        let table = try route.weightTable()
        let allocation = previous.map { $0.rebalanced(to: table) } ?? BucketAllocation(initial: table)
        try self.init(route: route, allocation: allocation)
    }

    /// A plan from a route and an allocation that already matches its weights.
    public init(route: Route, allocation: BucketAllocation) throws(WeightError) {
        self.route = route
        self.allocation = allocation
        var mapping: [Int] = []
        for name in allocation.deployments {
            guard let index = route.deployments.firstIndex(where: { $0.name == name }) else {
                throw .unknownDeployment(name)
            }
            mapping.append(index)
        }
        self.deploymentIndexOfOwner = mapping
        let byPriority: (Int, Int) -> Bool = { lhs, rhs in
            let l = route.deployments[lhs], r = route.deployments[rhs]
            if l.priority != r.priority { return l.priority < r.priority }
            if l.weight != r.weight { return l.weight > r.weight }
            return lhs < rhs
        }
        self.failoverOrder = route.deployments.indices.filter { route.deployments[$0].weight > .zero }.sorted(by: byPriority)
        self.standbyOrder = route.deployments.indices.filter { route.deployments[$0].weight == .zero }.sorted(by: byPriority)
    }

    /// The index in `route.deployments` of the deployment that owns `bucket`.
    @inlinable
    public func primaryDeployment(forBucket bucket: Int) -> Int {
        deploymentIndexOfOwner[allocation.ownerIndex(ofBucket: bucket)]
    }

    /// The deployment to try on attempt `attempt` (0 = the primary), skipping
    /// deployments without traffic; `nil` when every candidate has been tried.
    /// With `standby`, the weight-0 deployments follow the weighted ones.
    @inlinable
    public func candidate(attempt: Int, primary: Int, standby: Bool = false) -> Int? {
        if attempt == 0 { return primary }
        var remaining = attempt
        for index in failoverOrder where index != primary {
            remaining -= 1
            if remaining == 0 { return index }
        }
        guard standby else { return nil }
        for index in standbyOrder where index != primary {
            remaining -= 1
            if remaining == 0 { return index }
        }
        return nil
    }

    /// How many deployments a request may be tried on, the primary included.
    public func attemptLimit(primary: Int, standby: Bool = false) -> Int {
        let weighted = failoverOrder.contains(primary) ? failoverOrder.count : failoverOrder.count + 1
        return standby ? weighted + standbyOrder.count - (standbyOrder.contains(primary) ? 1 : 0) : weighted
    }
}
