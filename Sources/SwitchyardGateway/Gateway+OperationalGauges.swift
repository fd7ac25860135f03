import Foundation
import Prometheus
import Synchronization
public import SwitchyardCore

/// Gauges for alerting that are written at scrape time from small snapshots:
/// the state store's health, each active rollout's state, step age, last gate
/// result and the roles of its deployments, and each deployment's time to
/// retirement. Every label value comes from configuration, never a client.
final class OperationalGauges: Sendable {
    struct RolloutGauge: Sendable {
        var route: String
        var strategy: String
        var state: String
        var stateSince: Moment
        var gateResult: String?
        var stable: String
        var candidate: String?
    }

    struct RetirementGauge: Sendable {
        var route: String
        var deployment: String
        var retiresAt: Moment
    }

    let rollouts = Mutex<[RolloutGauge]>([])
    /// Ids of the rollouts seen active, to count each ending once; `nil` until the first report.
    let activeRolloutIDs = Mutex<Set<String>?>(nil)
    let retirements = Mutex<[RetirementGauge]>([])

    static func gauge(of rollout: Rollout) -> RolloutGauge? {
        guard rollout.state.isActive else { return nil }
        let result: String? = rollout.evaluations.last.map { evaluation in
            evaluation.overall == .noData ? "no_data" : evaluation.overall.rawValue
        }
        return RolloutGauge(
            route: rollout.route,
            strategy: rollout.plan.strategy.rawValue,
            state: rollout.state.rawValue,
            stateSince: rollout.state == .paused ? (rollout.pausedAt ?? rollout.updatedAt) : rollout.stepStartedAt,
            gateResult: result,
            stable: rollout.stable,
            candidate: rollout.candidate
        )
    }
}

extension Gateway {
    public func rolloutsChanged(_ rollouts: [Rollout]) {
        let gauges = rollouts.compactMap(OperationalGauges.gauge(of:)).sorted { $0.route < $1.route }
        operationalGauges.rollouts.withLock { $0 = gauges }
        // Rollouts that were active and are not any more have ended here; those
        // already finished at start are history, not news.
        let ended: [Rollout] = operationalGauges.activeRolloutIDs.withLock { known in
            let active = Set(rollouts.filter(\.state.isActive).map(\.id))
            defer { known = active }
            guard let known else { return [] }
            return rollouts.filter { known.contains($0.id) && !$0.state.isActive }
        }
        // Each ending's series exists (at 0) from the rollout's start, so its
        // first ending is an increase Prometheus can see.
        for rollout in rollouts where rollout.state.isActive {
            for state in Rollout.State.allCases where !state.isActive {
                _ = finishedCounter(rollout, state)
            }
        }
        for rollout in ended {
            finishedCounter(rollout, rollout.state).increment()
        }
    }

    private func finishedCounter(_ rollout: Rollout, _ state: Rollout.State) -> Counter {
        let how = state == .rolledBack ? "rolled_back" : state.rawValue
        return registry.makeCounter(
            descriptor: MetricNames.rolloutsFinished, labels: [("route", rollout.route), ("strategy", rollout.plan.strategy.rawValue), ("state", how)]
        )
    }

    /// Each deployment whose model version has a retirement date, from the lifecycle report.
    func noteRetirements(_ report: LifecycleReport) {
        let now = clock.now()
        var gauges: [OperationalGauges.RetirementGauge] = []
        for item in report.items {
            guard let timeLeft = item.timeLeft else { continue }
            for use in item.uses {
                gauges.append(.init(route: use.route, deployment: use.deployment, retiresAt: now + timeLeft))
            }
        }
        gauges.sort { ($0.route, $0.deployment) < ($1.route, $1.deployment) }
        operationalGauges.retirements.withLock { $0 = gauges }
    }

    /// Writes the operational gauges in the Prometheus text format.
    func emitOperationalGauges(into buffer: inout [UInt8]) {
        let now = clock.now()
        let label = Self.prometheusLabel
        func seconds(_ duration: Duration) -> String {
            String(duration.secondsDouble)
        }
        var text = "# HELP switchyard_build_info The running build.\n# TYPE switchyard_build_info gauge\n"
        text += "switchyard_build_info{version=\"\(label(SwitchyardVersion.current))\"} 1\n"
        let storeUp = stateStoreProblem.withLock { $0 } == nil
        text += "# HELP switchyard_state_store_up Whether the state store answers (0: a fleet replica lost PostgreSQL and serves its last routes).\n"
        text += "# TYPE switchyard_state_store_up gauge\nswitchyard_state_store_up \(storeUp ? 1 : 0)\n"

        let rollouts = operationalGauges.rollouts.withLock { $0 }
        text += "# HELP switchyard_rollout_active Active rollouts by route, strategy and state (progressing, paused).\n# TYPE switchyard_rollout_active gauge\n"
        for rollout in rollouts {
            text += "switchyard_rollout_active{route=\"\(label(rollout.route))\",strategy=\"\(rollout.strategy)\",state=\"\(rollout.state)\"} 1\n"
        }
        text += "# HELP switchyard_rollout_state_since_timestamp_seconds When an active rollout entered its current state or step (Unix time).\n"
        text += "# TYPE switchyard_rollout_state_since_timestamp_seconds gauge\n"
        for rollout in rollouts {
            text += "switchyard_rollout_state_since_timestamp_seconds{route=\"\(label(rollout.route))\"} \(seconds(rollout.stateSince - Moment(nanoseconds: 0)))\n"
        }
        text += "# HELP switchyard_rollout_gate_result The last gate evaluation of an active rollout: 1 for its result (pass, fail, inconclusive, no_data), 0 for the others.\n"
        text += "# TYPE switchyard_rollout_gate_result gauge\n"
        for rollout in rollouts {
            for result in ["pass", "fail", "inconclusive", "no_data"] {
                text += "switchyard_rollout_gate_result{route=\"\(label(rollout.route))\",result=\"\(result)\"} \(rollout.gateResult == result ? 1 : 0)\n"
            }
        }
        text += "# HELP switchyard_rollout_deployment_role The deployments of an active rollout: the stable one and the candidate it brings in.\n"
        text += "# TYPE switchyard_rollout_deployment_role gauge\n"
        for rollout in rollouts {
            text += "switchyard_rollout_deployment_role{route=\"\(label(rollout.route))\",deployment=\"\(label(rollout.stable))\",role=\"stable\"} 1\n"
            if let candidate = rollout.candidate, candidate != rollout.stable {
                text += "switchyard_rollout_deployment_role{route=\"\(label(rollout.route))\",deployment=\"\(label(candidate))\",role=\"candidate\"} 1\n"
            }
        }
        let retirements = operationalGauges.retirements.withLock { $0 }
        text += "# HELP switchyard_deployment_retirement_seconds Seconds until the model version a deployment runs retires (negative once retired).\n"
        text += "# TYPE switchyard_deployment_retirement_seconds gauge\n"
        for retirement in retirements {
            text += "switchyard_deployment_retirement_seconds{route=\"\(label(retirement.route))\",deployment=\"\(label(retirement.deployment))\"} \(seconds(retirement.retiresAt - now))\n"
        }
        buffer += Array(text.utf8)
    }
}
