public import SwitchyardCore

extension Gateway: MetricsSource {
    public func aggregate(route: String, deployment: String, window: Duration, now: Moment) -> MetricsWindow.Bucket {
        runtime(route: route, deployment: deployment).aggregate(window: window, now: now)
    }

    public func series(route: String, deployment: String, window: Duration, now: Moment) -> [MetricsWindow.Bucket] {
        runtime(route: route, deployment: deployment).series(window: window, now: now)
    }

    public func aggregate(route: String, deployment: String, fromSecond: Int64, toSecond: Int64) -> MetricsWindow.Bucket {
        runtime(route: route, deployment: deployment).aggregate(fromSecond: fromSecond, toSecond: toSecond)
    }

    public func breakerState(route: String, deployment: String) -> CircuitBreaker.State {
        runtime(route: route, deployment: deployment).breakerState
    }

    /// Replaces the routing table with plans whose bucket allocations were
    /// decided (and persisted) by the control plane.
    public func install(plans: [RoutePlan]) {
        installPlans(plans)
    }

    /// Installs one route's new plan; every other route stays as it is.
    public func install(plan: RoutePlan) {
        installPlan(plan)
    }
}
