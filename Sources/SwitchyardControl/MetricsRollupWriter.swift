public import Logging
public import ServiceLifecycle
public import SwitchyardCore
public import SwitchyardClock

/// Writes each deployment's figures for every finished minute to the state
/// store and forgets minutes older than 24 hours, so history outlives the
/// process and (with a shared store) covers the whole fleet.
public struct MetricsRollupWriter: Service {
    let control: ControlPlane
    let metrics: any MetricsSource
    let clock: any MomentClock
    let logger: Logger
    /// How long roll-ups are kept.
    public static let retention: Int64 = 24 * 3600

    public init(control: ControlPlane, metrics: any MetricsSource, clock: any MomentClock = SystemClock(), logger: Logger = Logger(label: "switchyard.rollups")) {
        self.control = control
        self.metrics = metrics
        self.clock = clock
        self.logger = logger
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                // Wake a couple of seconds into each minute, when the last one is complete.
                let now = clock.now()
                let seconds = now.nanoseconds / 1_000_000_000
                let next = Moment(seconds: seconds - seconds % 60 + 62)
                try await Task.sleep(for: next - now)
                await writeMinute(endingBefore: clock.now())
            }
        }
    }

    /// Writes the last complete minute before `now`.
    func writeMinute(endingBefore now: Moment) async {
        let seconds = now.nanoseconds / 1_000_000_000
        let minute = seconds - seconds % 60 - 60
        let rollups = Self.rollups(minute: minute, plans: await control.currentPlans, metrics: metrics)
        do {
            try await control.writeRollups(rollups, pruneBefore: minute - Self.retention)
        } catch {
            logger.warning("could not store metric roll-ups for minute \(minute): \(error)")
        }
    }

    /// The roll-ups of one minute for every deployment that saw traffic in it.
    static func rollups(minute: Int64, plans: [RoutePlan], metrics: any MetricsSource) -> [MetricRollup] {
        var rollups: [MetricRollup] = []
        for plan in plans {
            for deployment in plan.route.deployments {
                let figures = metrics.aggregate(route: plan.route.name, deployment: deployment.name, fromSecond: minute, toSecond: minute + 60)
                guard figures.requests > 0 else { continue }
                rollups.append(MetricRollup(route: plan.route.name, deployment: deployment.name, minute: minute, figures: figures))
            }
        }
        return rollups
    }
}
