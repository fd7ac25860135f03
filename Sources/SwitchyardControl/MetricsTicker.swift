import Foundation
public import ServiceLifecycle
public import SwitchyardCore
public import SwitchyardClock

/// Publishes a `metrics` event every interval while anyone is subscribed:
/// per deployment, the last minute's requests, error rate and p95.
public struct MetricsTicker: Service {
    let hub: EventHub
    let control: ControlPlane
    let metrics: any MetricsSource
    let clock: any MomentClock
    let interval: Duration

    public init(hub: EventHub, control: ControlPlane, metrics: any MetricsSource, clock: any MomentClock = SystemClock(), interval: Duration = .seconds(1)) {
        self.hub = hub
        self.control = control
        self.metrics = metrics
        self.clock = clock
        self.interval = interval
    }

    public func run() async throws {
        let ticker = self
        await repeatUntilShutdown(every: interval) {
            guard ticker.hub.subscriberCount > 0 else { return }
            ticker.hub.publish(.metrics, data: await ticker.tick())
        }
        hub.finishAll()
    }

    /// One tick's JSON. With a thousand routes it is some 340 KiB, tens of
    /// milliseconds of work: done on a Dispatch thread, not on the event
    /// loops that also carry the gateway's requests (it showed in their p99).
    func tick() async -> [UInt8] {
        let plans = await control.currentPlans
        let metrics = metrics
        let now = clock.now()
        return await withCheckedContinuation { continuation in
            DispatchQueue.global(qos: .utility).async {
                continuation.resume(returning: Self.encode(plans: plans, metrics: metrics, now: now))
            }
        }
    }

    static func encode(plans: [RoutePlan], metrics: any MetricsSource, now: Moment) -> [UInt8] {
        let routes = plans.map { plan in
            MetricsTick.Route(
                route: plan.route.name, revision: plan.route.revision,
                deployments: plan.route.deployments.map { deployment in
                    let minute = metrics.aggregate(route: plan.route.name, deployment: deployment.name, window: .seconds(60), now: now)
                    return MetricsTick.Deployment(
                        name: deployment.name, weight: deployment.weight.percent, requests: minute.requests,
                        errorRatePercent: minute.requests > 0 ? Double(minute.deploymentFailures) * 100 / Double(minute.requests) : nil,
                        p95Ms: minute.latency.quantileMilliseconds(0.95),
                        breaker: metrics.breakerState(route: plan.route.name, deployment: deployment.name).name
                    )
                }
            )
        }
        let tick = MetricsTick(atMs: now.nanoseconds / 1_000_000, routes: routes)
        return (try? JSONEncoder().encode(tick)).map(Array.init) ?? []
    }
}
