import Foundation
import Logging
public import SwitchyardCore

/// The rollout engine: the pure `RolloutMachine` decides, the control plane
/// carries out its actions — weight changes through the same path as an
/// operator's, verdicts from the data plane's metrics, every transition
/// audited, announced and saved so a restart resumes at the same step.
extension ControlPlane {
    /// The audit actor of changes the engine makes by itself.
    public static let rolloutActor = "rollout"

    /// Connects the data plane that measures gates, health-checks and mirrors traffic.
    public func attach(dataPlane: any RolloutDataPlane) {
        self.dataPlane = dataPlane
    }

    /// The latest rollout of `route`, active or finished.
    public func rollout(_ route: String) -> Rollout? { rollouts[route] }

    /// Every route's latest rollout.
    public var latestRollouts: [String: Rollout] { rollouts }

    /// Rollouts of `route` from the store, newest first.
    public func rolloutHistory(route: String, limit: Int) async throws(ControlError) -> [Rollout] {
        do {
            return try await store.rollouts(route: route, activeOnly: false, limit: limit).compactMap { try? Self.decode($0.document) }
        } catch {
            throw .storing(error)
        }
    }

    /// Starts a rollout on `route`; one at a time per route.
    public func startRollout(_ name: String, plan body: JSONValue, actor: String) async throws(ControlError) -> Rollout {
        guard let current = plan(name) else { throw .unknownRoute(name, known: currentPlans.map(\.route.name)) }
        var body = body
        if case .object(let members) = body, members.count == 1, let named = members["plan"] {
            // A plan declared with the route, by name.
            let known = current.route.plans.keys.sorted()
            guard let name = named.stringValue, let declared = current.route.plans[name] else {
                throw .invalidPlan(
                    "route '\(name)' has no plan named \(named.stringValue.map { "'\($0)'" } ?? "\(named)")"
                        + (known.isEmpty ? "; declare plans under 'plans:' in its routes file, or send the plan itself" : "; it has \(known.joined(separator: ", "))")
                )
            }
            body = declared
        }
        let plan: RolloutPlan
        do {
            plan = try RolloutPlan(json: body, route: current.route)
        } catch {
            throw .invalidPlan("\(error)")
        }
        return try await withRolloutLock { () async throws(ControlError) -> Rollout in
            await syncRollout(name)
            if let active = rollouts[name], active.state.isActive {
                throw .rolloutConflict(
                    "route '\(name)' already has a \(active.plan.strategy.rawValue) rollout \(active.state.rawValue) at \(active.progressLabel); abort it (ctl rollout abort \(name)) or roll back first"
                )
            }
            if plan.strategy == .shadow || plan.strategy == .bluegreen, dataPlane == nil {
                throw .rolloutConflict("this server has no data plane attached to run a \(plan.strategy.rawValue) rollout")
            }
            let now = clock.now()
            rolloutSequence += 1
            let id = "\(name)-\(now.nanoseconds / 1_000_000)-\(rolloutSequence)"
            guard await holdsLease(name) else {
                throw .rolloutConflict("another replica is starting a rollout on route '\(name)'; look again in a moment")
            }
            let (rollout, actions) = RolloutMachine.start(id: id, route: current.route, plan: plan, actor: actor, now: now)
            // Saved before anything is carried out: a rollout the store did not
            // take is refused, and nothing of it has happened.
            try await persist(rollout)
            rollouts[name] = rollout
            await carryOut(name, actions, actor: actor)
            await save(name)
            return rollouts[name] ?? rollout
        }
    }

    /// An operator's pause, resume or abort of the route's rollout.
    public func operate(_ name: String, _ event: RolloutEvent, actor: String, action: String) async throws(ControlError) -> Rollout {
        guard plan(name) != nil else { throw .unknownRoute(name, known: currentPlans.map(\.route.name)) }
        guard rollouts[name]?.state.isActive == true else { throw .noRollout(route: name, action: action) }
        try await handleRolloutThrowing(name, event, actor: actor)
        guard let rollout = rollouts[name] else { throw .noRollout(route: name, action: action) }
        return rollout
    }

    /// The A/B or shadow report of the route's latest rollout.
    /// The pairs the route's shadow kept for the compare screen (`capture` on
    /// its plan), newest first; empty when the plan keeps none.
    public func shadowSamples(_ name: String) throws(ControlError) -> ShadowSamplesView {
        guard plan(name) != nil else { throw .unknownRoute(name, known: currentPlans.map(\.route.name)) }
        guard let rollout = rollouts[name] else { throw .noRollout(route: name, action: "show the samples of") }
        let capture = rollout.plan.strategy == .shadow || rollout.plan.strategy == .ab ? rollout.plan.capture ?? 0 : 0
        return ShadowSamplesView(route: name, capture: capture, samples: capture > 0 ? dataPlane?.shadowSamples(route: name) ?? [] : [])
    }

    public func experimentReport(_ name: String) async throws(ControlError) -> ExperimentReport {
        guard plan(name) != nil else { throw .unknownRoute(name, known: currentPlans.map(\.route.name)) }
        guard let rollout = rollouts[name] else { throw .noRollout(route: name, action: "report on") }
        let now = clock.now()
        let end = rollout.state.isActive ? now : rollout.updatedAt
        let from = rollout.startedAt
        switch rollout.plan.strategy {
        case .ab, .canary, .bluegreen:
            let names = rollout.plan.split?.deploymentNames ?? [rollout.stable] + [rollout.candidate].compactMap { $0 }
            var figures: [String: MetricsWindow.Bucket] = [:]
            for deployment in names { figures[deployment] = windowFigures(route: name, deployment: deployment, from: from, to: end) }
            let scores = try await scoreSummaries(route: name, since: from, until: end)
            return ExperimentReport(rollout: rollout, variants: names, figures: figures, scores: scores, from: from, to: end)
        case .shadow:
            return ExperimentReport(
                rollout: rollout, primary: rollout.stable, primaryFigures: windowFigures(route: name, deployment: rollout.stable, from: from, to: end),
                report: dataPlane?.shadowReport(route: name), from: from, to: end
            )
        }
    }

    func rollbackWithRollout(_ name: String, ifMatch: Int?, actor: String) async throws(ControlError) -> ChangeOutcome {
        let started = clock.now()
        if let ifMatch, let current = plan(name), ifMatch != current.route.revision {
            throw .stale(route: name, expected: ifMatch, actual: current.route.revision)
        }
        let before = plan(name)?.route.revision
        try await handleRolloutThrowing(name, .rollback(actor: actor), actor: actor)
        var audit: AuditEvent?
        if rollouts[name]?.plan.strategy != .bluegreen {
            // The machine's rollback already sent traffic to stable unless its
            // change failed; a rollback must be certain, so say it once more.
            audit = try await commitChange(name, .rollback, ifMatch: nil, actor: actor).audit
        }
        guard let route = plan(name)?.route else { throw .unknownRoute(name, known: currentPlans.map(\.route.name)) }
        return ChangeOutcome(route: route, changed: route.revision != before, serverTime: clock.now() - started, audit: audit)
    }

    func promoteWithRollout(_ name: String, deployment: String?, ifMatch: Int?, actor: String) async throws(ControlError) -> ChangeOutcome {
        let started = clock.now()
        if let ifMatch, let current = plan(name), ifMatch != current.route.revision {
            throw .stale(route: name, expected: ifMatch, actual: current.route.revision)
        }
        let before = plan(name)?.route.revision
        try await handleRolloutThrowing(name, .promote(actor: actor, deployment: deployment), actor: actor)
        guard let route = plan(name)?.route else { throw .unknownRoute(name, known: currentPlans.map(\.route.name)) }
        return ChangeOutcome(route: route, changed: route.revision != before, serverTime: clock.now() - started, audit: nil)
    }
}
