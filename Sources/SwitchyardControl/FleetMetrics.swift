public import Logging
public import ServiceLifecycle
import Synchronization
public import SwitchyardCore
public import SwitchyardClock

/// The data plane as a fleet sees it: measurements summed over every replica
/// (from the shared store's live per-minute figures, refreshed every few
/// seconds), everything else — breakers, health checks, shadows, feedback
/// attribution — from this replica's own gateway. The management API and the
/// rollout gates read through it, so they judge the whole fleet's traffic.
public final class FleetMetrics: RolloutDataPlane {
    let local: any RolloutDataPlane
    /// route ␀ deployment → minute → figures.
    private let snapshot = Mutex<[String: [Int64: MetricsWindow.Bucket]]>([:])

    public init(local: any RolloutDataPlane) {
        self.local = local
    }

    /// Replaces the fleet-wide figures with a fresh read of the store.
    public func update(_ rollups: [MetricRollup]) {
        var next: [String: [Int64: MetricsWindow.Bucket]] = [:]
        for rollup in rollups {
            next[Self.key(rollup.route, rollup.deployment), default: [:]][rollup.minute] = rollup.figures
        }
        snapshot.withLock { $0 = next }
    }

    static func key(_ route: String, _ deployment: String) -> String { route + "\u{0}" + deployment }

    static func minute(_ seconds: Int64) -> Int64 { seconds - ((seconds % 60) + 60) % 60 }

    public func aggregate(route: String, deployment: String, window: Duration, now: Moment) -> MetricsWindow.Bucket {
        let end = now.nanoseconds / 1_000_000_000
        return aggregate(route: route, deployment: deployment, fromSecond: Self.minute(end - Int64(window.secondsDouble)), toSecond: end + 1)
    }

    public func aggregate(route: String, deployment: String, fromSecond: Int64, toSecond: Int64) -> MetricsWindow.Bucket {
        var total = MetricsWindow.Bucket(start: fromSecond)
        let minutes = snapshot.withLock { $0[Self.key(route, deployment)] ?? [:] }
        for (minute, figures) in minutes where minute >= Self.minute(fromSecond) && minute < toSecond {
            total.merge(figures)
        }
        return total
    }

    /// One point per minute (the fleet's resolution), oldest first, empty minutes included.
    public func series(route: String, deployment: String, window: Duration, now: Moment) -> [MetricsWindow.Bucket] {
        let end = Self.minute(now.nanoseconds / 1_000_000_000)
        let count = max(1, Int((window.secondsDouble / 60).rounded(.up)))
        let minutes = snapshot.withLock { $0[Self.key(route, deployment)] ?? [:] }
        return (0..<count).reversed().map { back in
            let start = end - Int64(back) * 60
            var bucket = minutes[start] ?? MetricsWindow.Bucket(start: start)
            bucket.start = start
            return bucket
        }
    }

    public func breakerState(route: String, deployment: String) -> CircuitBreaker.State {
        local.breakerState(route: route, deployment: deployment)
    }

    public func attribution(requestId: String) -> (route: String, deployment: String)? {
        local.attribution(requestId: requestId)
    }

    public func healthCheck(route: Route, deployment: String, check: RolloutPlan.HealthCheck) async -> HealthCheckResult {
        await local.healthCheck(route: route, deployment: deployment, check: check)
    }

    public func setShadow(route: String, _ settings: ShadowSettings?) {
        local.setShadow(route: route, settings)
    }

    public func shadowReport(route: String) -> ShadowReport? {
        local.shadowReport(route: route)
    }

    /// This replica's captured pairs: a shadow runs on every replica, each
    /// keeping what it mirrored.
    public func shadowSamples(route: String) -> [ShadowSample] {
        local.shadowSamples(route: route)
    }

    public func rolloutsChanged(_ rollouts: [Rollout]) {
        local.rolloutsChanged(rollouts)
    }
}

/// Every `interval`: writes this replica's figures for the current and the
/// previous minute to the shared store (replacing its own earlier ones), then
/// reads the whole fleet's last hour back into `FleetMetrics`.
public struct FleetMetricsSync: Service {
    let control: ControlPlane
    let local: any MetricsSource
    let fleet: FleetMetrics
    let clock: any MomentClock
    let interval: Duration
    let logger: Logger

    public init(
        control: ControlPlane, local: any MetricsSource, fleet: FleetMetrics, clock: any MomentClock = SystemClock(),
        interval: Duration = .seconds(10), logger: Logger = Logger(label: "switchyard.fleet")
    ) {
        self.control = control
        self.local = local
        self.fleet = fleet
        self.clock = clock
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        await sync()
        let sync = self
        await repeatUntilShutdown(every: interval) { await sync.sync() }
    }

    /// One round: publish this replica's figures, read the fleet's.
    public func sync() async {
        let second = clock.now().nanoseconds / 1_000_000_000
        let minute = FleetMetrics.minute(second)
        let plans = await control.currentPlans
        let rollups = MetricsRollupWriter.rollups(minute: minute - 60, plans: plans, metrics: local)
            + MetricsRollupWriter.rollups(minute: minute, plans: plans, metrics: local)
        do {
            try await control.publishReplicaRollups(rollups, pruneBefore: minute - 3600)
            fleet.update(try await control.fleetRollups(sinceMinute: minute - 3600))
        } catch {
            logger.warning("fleet metrics: \(error); showing the last fleet-wide figures read")
        }
        let local = local
        await control.attributeFleetFeedback { local.attribution(requestId: $0) }
    }
}
