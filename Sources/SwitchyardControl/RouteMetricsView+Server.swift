import SwitchyardCore

/// The server's side of `GET /api/v1/routes/{route}/metrics`: the wire body
/// (`RouteMetricsView`, in the core) built from the data plane's windows.
extension RouteMetricsView {
    init(plan: RoutePlan, window: Duration, metrics: any MetricsSource, now: Moment) {
        let route = plan.route.name
        self.init(
            route: route, revision: plan.route.revision, windowSeconds: Int(window.secondsDouble),
            deployments: plan.route.deployments.map { deployment in
                Deployment(
                    deployment: deployment,
                    total: metrics.aggregate(route: route, deployment: deployment.name, window: window, now: now),
                    series: metrics.series(route: route, deployment: deployment.name, window: window, now: now),
                    breaker: metrics.breakerState(route: route, deployment: deployment.name)
                )
            }
        )
    }

    /// Figures from stored per-minute roll-ups (windows beyond an hour); the
    /// series has one point per minute.
    init(plan: RoutePlan, window: Duration, rollups: [MetricRollup], metrics: any MetricsSource) {
        let route = plan.route.name
        self.init(
            route: route, revision: plan.route.revision, windowSeconds: Int(window.secondsDouble),
            deployments: plan.route.deployments.map { deployment in
                let minutes = rollups.filter { $0.deployment == deployment.name }.map(\.figures)
                var total = MetricsWindow.Bucket(start: minutes.first?.start ?? 0)
                for minute in minutes { total.merge(minute) }
                return Deployment(
                    deployment: deployment, total: total, series: minutes, breaker: metrics.breakerState(route: route, deployment: deployment.name)
                )
            }
        )
    }
}
